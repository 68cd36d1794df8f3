"""Rescale-looking ids: short random letters (`QTVia`, `XkpTse`), seedable so a run can be repeated.

Five or six letters collide (about 3.5 per 100,000 ids), so a new id is drawn again until its table does not hold it
(`fresh`, called inside the inserting transaction, which holds SQLite's write lock)."""
from __future__ import annotations

import hashlib
import random
import string
import threading
from typing import Any, Callable


class IdFactory:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def seed(self, seed: int | None) -> None:
        with self._lock:
            self._rng.seed(seed)

    def new(self) -> str:
        with self._lock:
            return "".join(self._rng.choices(string.ascii_letters, k=self._rng.choice((5, 6))))

    def fresh(self, taken: Callable[[str], bool]) -> str:
        """A new id that `taken` says is free."""
        while True:
            candidate = self.new()
            if not taken(candidate):
                return candidate

    def key(self) -> str:
        """An API key shaped like Rescale's: 40 hex digits."""
        with self._lock:
            return "%040x" % self._rng.getrandbits(160)


def stable_id(*parts: Any, size: int = 6) -> str:
    """Ids of things the fake derives rather than stores (statuses, clusters, instances): same input, same id."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "".join(string.ascii_letters[b % 52] for b in digest[:size])


def newest_first(owner: str, kind: str, events: list[Any]) -> list[tuple[str, Any]]:
    """A status history as the API lists it: newest first, each entry with an id stable across reads."""
    return [(stable_id(owner, kind, i), e) for i, e in reversed(list(enumerate(events)))]
