"""Rescale-looking ids: short random letters (`QTVia`, `XkpTse`), seedable so a run can be repeated.

Five or six letters collide (about 3.5 per 100,000 ids), so a new id is drawn again until its table does not hold it
(`fresh`, called inside the inserting transaction, which holds the store's write lock).

No process keeps a generator: draw n of a seed is a hash of (seed, n), and the stream's seed and n live in the store
(`rng_streams`), counted inside the inserting transaction, so every server process continues the same sequence.
Unseeded draws come from the OS."""
from __future__ import annotations

import hashlib
import secrets
import string
import threading
from typing import Any, Callable

from ..store import state
from ..store.db import Database

STREAM = "ids:"  # the server's stream; a tenant with a seed of its own has "ids:<tenant id>"


def seeded_bytes(kind: str, seed: str, index: int) -> bytes:
    """Draw `index` of a seed's stream of one kind (ids, faults): the same on every process and every run."""
    return hashlib.sha256(f"{kind}/{seed}/{index}".encode()).digest()


class IdFactory:
    def __init__(self, seed: int | None = None, db: Database | None = None, streams: tuple[str, ...] = (STREAM,)) -> None:
        self.db, self.streams = db, streams  # draws from the first of `streams` that exists in the store
        self._lock = threading.Lock()
        self._seed, self._drawn = (None if seed is None else str(seed)), 0  # without a store only (unit use)

    def scoped(self, stream: str) -> "IdFactory":
        """The same store, drawing from `stream` when it exists (a tenant's own seed), else from these."""
        return IdFactory(db=self.db, streams=(stream, *self.streams))

    def seed(self, seed: int | None) -> None:
        if self.db is None:
            with self._lock:
                self._seed, self._drawn = (None if seed is None else str(seed)), 0
            return
        with self.db.transaction() as conn:
            state.reseed(conn, self.streams[0], seed)

    def _draw(self, conn: Any = None) -> bytes:
        if self.db is None:
            with self._lock:
                drawn = None if self._seed is None else (self._seed, self._drawn)
                self._drawn += 1
        elif conn is not None:
            drawn = state.draw(conn, self.streams)
        else:
            with self.db.transaction() as own:
                drawn = state.draw(own, self.streams)
        return secrets.token_bytes(32) if drawn is None else seeded_bytes("ids", *drawn)

    def new(self, conn: Any = None) -> str:
        """A new id (`conn`: the inserting transaction, where a seeded draw is counted)."""
        digest = self._draw(conn)
        return "".join(string.ascii_letters[b % 52] for b in digest[1:6 + digest[0] % 2])

    def fresh(self, taken: Callable[[str], bool]) -> str:
        """A new id that `taken` says is free."""
        conn = getattr(taken, "conn", None)  # store.db.id_taken carries the inserting transaction
        while True:
            candidate = self.new(conn)
            if not taken(candidate):
                return candidate

    def key(self) -> str:
        """An API key shaped like Rescale's: 40 hex digits."""
        return self._draw()[:20].hex()


def stable_id(*parts: Any, size: int = 6) -> str:
    """Ids of things the fake derives rather than stores (statuses, clusters, instances): same input, same id."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return "".join(string.ascii_letters[b % 52] for b in digest[:size])


def newest_first(owner: str, kind: str, events: list[Any]) -> list[tuple[str, Any]]:
    """A status history as the API lists it: newest first, each entry with an id stable across reads."""
    return [(stable_id(owner, kind, i), e) for i, e in reversed(list(enumerate(events)))]
