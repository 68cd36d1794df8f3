"""Server-wide state that every server process must see, kept in the store rather than in a process's memory:
values changed at run time (`server_settings`), seeded random streams (`rng_streams`) and named counters."""
from __future__ import annotations

import secrets
from typing import Any, Callable

from .db import Database, from_json, to_json

_PUT = ("INSERT INTO server_settings (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value")


class ServerState:
    """Named JSON values, server-wide. A missing name means "as the server was started" (its flags)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str, default: Any = None) -> Any:
        row = self.db.one("SELECT value FROM server_settings WHERE name = ?", (name,))
        return from_json(row["value"]) if row else default

    def set(self, name: str, value: Any) -> None:
        with self.db.transaction() as conn:
            conn.execute(_PUT, (name, to_json(value)))

    def modify(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write in one transaction (`change` gets None when the name is missing)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT value FROM server_settings WHERE name = ?", (name,)).fetchone()
            value = change(from_json(row["value"]) if row else None)
            conn.execute(_PUT, (name, to_json(value)))
        return value

    def secret(self, name: str) -> str:
        """A random secret made by whichever process asks first, then the same for all (e.g. cookie signing)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO server_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                         (name, to_json(secrets.token_hex(32))))
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
