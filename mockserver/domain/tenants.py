"""Tenants: every API key is an isolated account with its own user, projects, files, jobs, clusters and clock.

Keys are stored only as a SHA-256 digest, so they never sit in the database, a log or the journal.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..store.db import Database, from_json, id_taken, to_json
from ..store.state import ServerState, cache, drop_streams, reseed
from .catalog import Catalog
from .clock import Clock
from .ids import STREAM, IdFactory


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Tenant:
    id: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str:
        return f"user_{self.id.lower()}@example.com"

    @property
    def storage_prefix(self) -> str:
        return f"user/user_{self.id}"


@dataclass
class ClockDefaults:
    mode: str = "scaled"
    factor: float = 60.0


_MISSING = object()


class Tenants:
    """The store is the truth: every change is written in a transaction that re-reads the stored settings and bumps
    the state version (store/state.py), and a tenant is read from this process's cache only while that version
    holds, which each request checks, so all server processes over one store agree. A Tenant is made per read; its
    `settings` may be shared with the cache: replace it, never change it in place."""

    def __init__(self, db: Database, ids: IdFactory, catalog: Catalog | None, clock_defaults: ClockDefaults,
                 real_time: Callable[[], float] = time.time) -> None:
        self.db, self.ids, self.catalog = db, ids, catalog
        self.server = ServerState(db)  # server-wide values changed at run time
        self.cache = cache(db)
        self._started_clock = clock_defaults  # the flags'; `set_defaults` changes live in the store
        self.real_time = real_time

    def by_key(self, key: str) -> Tenant | None:
        digest = key_digest(key)
        return self._cached("key_digest", digest)

    def by_id(self, tenant_id: str) -> Tenant | None:
        return self._cached("id", tenant_id)

    def _cached(self, column: str, value: str) -> Tenant | None:
        found = self.cache.get(("tenant", column, value), lambda: self._load(column, value))
        return Tenant(*found) if found else None

    def _load(self, column: str, value: str) -> tuple[str, dict[str, Any]] | None:
        row = self.db.one(f"SELECT id, settings FROM tenants WHERE {column} = ?", (value,))
        return (row["id"], from_json(row["settings"])) if row else None

    def reload(self, tenant: Tenant) -> Tenant:
        """The tenant's settings as stored now (for holders of a Tenant across requests, e.g. the runner)."""
        fresh = self.by_id(tenant.id)
        if fresh is not None:
            tenant.settings = fresh.settings
        return tenant

    def ensure(self, key: str, limit: int | None = None) -> Tenant | None:
        """The tenant of `key`, created on first use; None when it is new and `limit` tenants exist already."""
        digest = key_digest(key)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id, settings FROM tenants WHERE key_digest = ?", (digest,)).fetchone()
            if row:
                return Tenant(row["id"], from_json(row["settings"]))
            if limit is not None and conn.execute("SELECT COUNT(*) FROM tenants").fetchone()[0] >= limit:
                return None
            tenant_id = self.ids.fresh(id_taken(conn, "tenants"))
            settings = {"clock": self._fresh_clock().to_dict()}
            conn.execute("INSERT INTO tenants (id, key_digest, created, settings) VALUES (?, ?, ?, ?)",
                         (tenant_id, digest, self.real_time(), to_json(settings)))
            self.cache.changed(conn)
        return Tenant(tenant_id, settings)

    def all(self) -> list[Tenant]:
        return [Tenant(r["id"], from_json(r["settings"])) for r in self.db.query("SELECT id, settings FROM tenants")]

    def count(self) -> int:
        """How many tenants there are (health): counted by the store, no settings read."""
        row = self.db.one("SELECT COUNT(*) AS n FROM tenants")
        return int(row["n"]) if row else 0

    def ids_for(self, tenant: Tenant) -> IdFactory:
        """Where the tenant's new ids come from: its own seeded stream if it set one, else the server's."""
        return self.ids.scoped(STREAM + tenant.id)

    def seed(self, tenant: Tenant | None, seed: int) -> None:
        """Repeatable ids for one tenant, or (None) for the whole server, dropping the tenants' own seeds."""
        with self.db.transaction() as conn:
            if tenant is None:
                drop_streams(conn, STREAM)
                reseed(conn, STREAM, seed)
            else:
                reseed(conn, STREAM + tenant.id, seed)

    def modify_settings(self, tenant: Tenant, change: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        """Read-modify-write of the tenant's stored settings in one transaction (another process may have changed
        them since this request read its tenant). In memory only once the store took them, so a value the store
        refuses leaves the tenant as it was (a NaN clock once broke every later call of its tenant)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT settings FROM tenants WHERE id = ?", (tenant.id,)).fetchone()
            settings = change(from_json(row["settings"]) if row else {})
            conn.execute("UPDATE tenants SET settings = ? WHERE id = ?", (to_json(settings), tenant.id))
            self.cache.changed(conn)
        tenant.settings = settings
        return settings

    def save_settings(self, tenant: Tenant, settings: dict[str, Any]) -> None:
        """Replace the tenant's settings: the top-level entries that differ from what this request read are written
        over the stored ones, so a concurrent change of another entry (by another process) is kept."""
        before = tenant.settings
        changed = {k: v for k, v in settings.items() if before.get(k, _MISSING) != v}
        removed = [k for k in before if k not in settings]
        self.modify_settings(tenant, lambda stored: {**{k: v for k, v in stored.items() if k not in removed},
                                                     **changed})

    def restart(self, tenant: Tenant) -> None:
        """Forget the tenant's settings; its clock starts afresh."""
        fresh = {"clock": self._fresh_clock().to_dict()}
        self.modify_settings(tenant, lambda _stored: fresh)

    # -- the clock ---------------------------------------------------------------------------------------------
    @property
    def clock_defaults(self) -> ClockDefaults:
        """The clock new tenants (and reset ones) start with: the flags', changed at run time by `set_defaults`."""
        changed = self.server.get("clockDefaults") or {}
        return ClockDefaults(changed.get("mode", self._started_clock.mode),
                             changed.get("factor", self._started_clock.factor))

    def _fresh_clock(self) -> Clock:
        defaults = self.clock_defaults
        return Clock.fresh(defaults.mode, defaults.factor, self.real_time())

    def set_defaults(self, mode: str | None, factor: float | None) -> None:
        """The clock new tenants (and reset ones) start with."""
        changes = {k: v for k, v in (("mode", mode), ("factor", factor)) if v}
        self.server.modify("clockDefaults", lambda old: {**(old or {}), **changes})

    def clock(self, tenant: Tenant) -> Clock:
        raw = tenant.settings.get("clock")
        return Clock.from_dict(raw) if raw else self._fresh_clock()

    def now(self, tenant: Tenant) -> float:
        return self.clock(tenant).now(self.real_time())

    def update_clock(self, tenant: Tenant, change: Callable[[Clock, float], None]) -> Clock:
        """Change the clock as stored now (two processes advancing it at once both count)."""
        changed: list[Clock] = []

        def apply(stored: dict[str, Any]) -> dict[str, Any]:
            clock = Clock.from_dict(stored["clock"]) if stored.get("clock") else self._fresh_clock()
            change(clock, self.real_time())
            changed.append(clock)
            return {**stored, "clock": clock.to_dict()}

        self.modify_settings(tenant, apply)
        return changed[0]

    def user(self, tenant: Tenant, catalog: Catalog | None = None) -> dict[str, Any]:
        """The user behind a key, from the catalog's user template (the tenant's own catalog when given)."""
        template = (catalog or self.catalog).user_template  # type: ignore[union-attr]
        return {**template, "id": tenant.id, "email": tenant.email}
