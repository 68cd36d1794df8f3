"""Server-wide state that every server process must see, kept in the store rather than in a process's memory:
values changed at run time (`server_settings`), seeded random streams (`rng_streams`) and named counters (fault rule
ids, `stateVersion`)."""
from __future__ import annotations

import contextlib
import secrets
import threading
import weakref
from typing import Any, Callable, Iterator

from .db import Database, from_json, to_json

_PUT = ("INSERT INTO server_settings (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value")


# -- the state version: per-process caches that every request checks with one read ---------------------------------
VERSION = "stateVersion"  # a row of `counters`, bumped by every change of what is cached (fault rules' liveness,
# server settings, tenants and their settings), in the transaction that makes the change
_READ_VERSION = "SELECT value FROM counters WHERE name = ?"
_BUMP_VERSION = ("INSERT INTO counters (name, value) VALUES (?, 1) "
                 "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1")


class StateCache:
    """Values read from the store, kept in this process while the state version stays the same. A request reads
    the version once (`pinned`) and every cached read in it checks against that; outside a request each cached read
    reads the version itself. So a change committed by any process is seen by the next request everywhere, and the
    cache is safe to lose. Cached values are shared: treat them as read-only (the store's code replaces, never
    mutates, them). Nothing read inside a transaction is kept (it may hold the transaction's uncommitted writes)."""

    MAX_ENTRIES = 4096

    def __init__(self, db: Database) -> None:
        self.db = db
        self._local = threading.local()
        self._lock = threading.Lock()
        self._version = -1  # the version the values were read at (never older than any version read before)
        self._values: dict[Any, Any] = {}

    def _read(self) -> int:
        row = self.db.one(_READ_VERSION, (VERSION,))
        return int(row["value"]) if row else 0

    @contextlib.contextmanager
    def pinned(self) -> Iterator[None]:
        """One read of the version for the cached reads of one request (this thread's). If the store cannot be read,
        the request goes on unpinned, to fail where it reads the store, as it would have without the cache."""
        try:
            self._local.version = self._read()
        except Exception:  # noqa: BLE001 - see above
            self._local.version = None
        try:
            yield
        finally:
            self._local.version = None

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        pinned = getattr(self._local, "version", None)
        version = self._read() if pinned is None else pinned
        with self._lock:
            if version > self._version:
                self._values.clear()
                self._version = version
            elif version == self._version and key in self._values:
                return self._values[key]
        value = load()
        if not self.db.in_transaction():
            with self._lock:
                if version == self._version:  # else a newer version was seen meanwhile: not kept
                    if len(self._values) >= self.MAX_ENTRIES:
                        self._values.clear()
                    self._values[key] = value
        return value

    def changed(self, conn: Any) -> None:
        """Bump the version inside the caller's transaction: call it as the transaction's LAST statement. This
        thread's later reads (the rest of its request) read the version again, so they see the change too."""
        conn.execute(_BUMP_VERSION, (VERSION,))
        self._local.version = None


_MISSING = object()
_CACHES: weakref.WeakKeyDictionary[Any, StateCache] = weakref.WeakKeyDictionary()


def cache(db: Any) -> StateCache:
    """The one StateCache of `db` (one per Database, so one pin covers every cache over it). Asked for while the
    services are built, so no lock (none to be held across a worker's fork); two made at once would still agree
    with the store from one request to the next."""
    found = _CACHES.get(db)
    if found is None:
        found = _CACHES[db] = StateCache(db)
    return found


class ServerState:
    """Named JSON values, server-wide. A missing name means "as the server was started" (its flags). Reads are
    cached under the state version (a returned value is shared: read-only)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = cache(db)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.cache.get(("server", name), lambda: self._load(name))
        return default if value is _MISSING else value

    def _load(self, name: str) -> Any:
        row = self.db.one("SELECT value FROM server_settings WHERE name = ?", (name,))
        return from_json(row["value"]) if row else _MISSING

    def set(self, name: str, value: Any) -> None:
        with self.db.transaction() as conn:
            conn.execute(_PUT, (name, to_json(value)))
            self.cache.changed(conn)

    def modify(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write in one transaction (`change` gets None when the name is missing)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT value FROM server_settings WHERE name = ?", (name,)).fetchone()
            value = change(from_json(row["value"]) if row else None)
            conn.execute(_PUT, (name, to_json(value)))
            self.cache.changed(conn)
        return value

    def secret(self, name: str) -> str:
        """A random secret made by whichever process asks first, then the same for all (e.g. cookie signing)."""
        with self.db.transaction() as conn:
            made = conn.execute("INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                                (name, to_json(secrets.token_hex(32)))).rowcount
            if made:
                self.cache.changed(conn)
            return str(from_json(conn.execute("SELECT value FROM server_settings WHERE name = ?",
                                              (name,)).fetchone()["value"]))


# -- seeded random streams ---------------------------------------------------------------------------------------
def reseed(conn: Any, name: str, seed: int | None) -> None:
    """Start stream `name` again from `seed` (None: unseeded)."""
    conn.execute("INSERT INTO rng_streams (name, seed, drawn) VALUES (?, ?, 0) "
                 "ON CONFLICT (name) DO UPDATE SET seed = excluded.seed, drawn = 0",
                 (name, None if seed is None else str(seed)))


def join_stream(conn: Any, name: str, seed: int | None) -> None:
    """Create stream `name` with `seed` unless some process created it already."""
    conn.execute("INSERT INTO rng_streams (name, seed, drawn) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING",
                 (name, None if seed is None else str(seed)))


def drop_streams(conn: Any, prefix: str) -> None:
    """Forget the streams named `prefix` + something (the tenants' own seeds), keeping `prefix` itself."""
    conn.execute("DELETE FROM rng_streams WHERE name LIKE ? AND name <> ?", (prefix + "%", prefix))


def draw(conn: Any, names: tuple[str, ...]) -> tuple[str, int] | None:
    """Counts one draw from the first of `names` that exists, inside the caller's transaction: (seed, index of the
    draw), or None when that stream is unseeded (or none exists), i.e. draw from the OS instead."""
    marks = ", ".join("?" * len(names))
    rows = {r["name"]: r for r in conn.execute(f"SELECT name, seed, drawn FROM rng_streams WHERE name IN ({marks})",
                                               names).fetchall()}
    row = next((rows[name] for name in names if name in rows), None)
    if row is None or row["seed"] is None:
        return None
    conn.execute("UPDATE rng_streams SET drawn = drawn + 1 WHERE name = ?", (row["name"],))
    return row["seed"], row["drawn"]


def next_count(conn: Any, name: str) -> int:
    """1, 2, 3... for counter `name`, across processes (inside the caller's transaction)."""
    conn.execute("INSERT INTO counters (name, value) VALUES (?, 1) "
                 "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1", (name,))
    return int(conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()["value"])
