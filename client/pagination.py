"""Lazy iteration over paged operations (`count`, `next`, `previous`, `results`): pages are fetched one at a
time, only as the loop needs them, by following each page's `next` link."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

if TYPE_CHECKING:
    from .session import ApiSession

T = TypeVar("T")


class Paginator(Generic[T]):
    """Every item of a paged operation, lazily. Iterate it (`for job in client.jobs.iter_jobs(): ...`), or use
    `pages()`, `count` (the server's total, one request), `first()` or `list(limit)`. Each iteration starts over
    from the first page, so a paginator can be reused."""

    def __init__(self, session: ApiSession, first_page: Callable[[], Mapping[str, Any]]) -> None:
        self._session = session
        self._first_page = first_page
        self._cached: Mapping[str, Any] | None = None

    def pages(self) -> Iterator[Mapping[str, Any]]:
        """The pages themselves, first to last."""
        page = self._cached if self._cached is not None else self._first_page()
        self._cached = None
        while True:
            yield page
            link = page.get("next")
            if not link:
                return
            page = cast(Mapping[str, Any], self._session.get_json(link))

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from cast(list[T], page.get("results") or [])

    @property
    def count(self) -> int:
        """The total number of items as the server counts them (fetches the first page once)."""
        if self._cached is None:
            self._cached = self._first_page()
        return int(self._cached.get("count") or 0)

    def first(self) -> T | None:
        """The first item, or None when there is none (one request)."""
        return next(iter(self), None)

    def list(self, limit: int | None = None) -> list[T]:
        """The items as a list, at most `limit` of them (fetching only the pages needed)."""
        return list(islice(self, limit))
