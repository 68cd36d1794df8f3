"""Rescale-looking ids: short random letters (`QTVia`, `XkpTse`), seedable so a run can be repeated."""
from __future__ import annotations

import random
import string
import threading


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

    def key(self) -> str:
        """An API key shaped like Rescale's: 40 hex digits."""
        with self._lock:
            return "%040x" % self._rng.getrandbits(160)
