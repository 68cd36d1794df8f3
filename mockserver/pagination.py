"""DRF PageNumberPagination, as Rescale serves it: `count/next/previous/results` with absolute links.

`next`/`previous` are built from the request's own URL (host, port, path and other query parameters), so they work
behind any port; `previous` of page 2 drops `page` entirely, as DRF does.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import INVALID_PAGE, detail

MAX_PAGE_SIZE = 1000
MAX_OFFSET = 2**53
DEFAULT_PAGE_SIZE = {"v2": 10, "v3": 25}

Fetch = Callable[[int, int], tuple[int, Sequence[Any]]]


def with_page(url: str, page: int | None) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    if page is not None:
        query.append(("page", str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def paginate(url: str, params: dict[str, Any], version: str, fetch: Fetch,
             max_size: int = MAX_PAGE_SIZE) -> dict[str, Any]:
    page = params.get("page", 1)
    size = min(params.get("page_size") or DEFAULT_PAGE_SIZE[version], max_size)
    if (page - 1) * size > MAX_OFFSET:  # past any real listing, and past what SQLite's OFFSET can hold
        raise detail(404, INVALID_PAGE)
    count, results = fetch((page - 1) * size, size)
    if page > 1 and (page - 1) * size >= count:
        raise detail(404, INVALID_PAGE)
    return {
        "count": count,
        "next": with_page(url, page + 1) if page * size < count else None,
        "previous": None if page == 1 else with_page(url, None if page == 2 else page - 1),
        "results": list(results),
    }


def from_list(items: Sequence[Any]) -> Fetch:
    return lambda offset, limit: (len(items), items[offset:offset + limit])
