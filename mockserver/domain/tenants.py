"""Tenants: every API key is an isolated account with its own user, projects, files, jobs, clusters and clock.

Keys are stored only as a SHA-256 digest, so they never sit in the database, a log or the journal.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..store.db import Database, from_json, id_taken, to_json
from .catalog import Catalog
from .clock import Clock
from .ids import IdFactory


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


class Tenants:
    def __init__(self, db: Database, ids: IdFactory, catalog: Catalog | None, clock_defaults: ClockDefaults,
                 real_time: Callable[[], float] = time.time) -> None:
        self.db, self.ids, self.catalog = db, ids, catalog
        self.clock_defaults = clock_defaults
        self.real_time = real_time
        # One Tenant object per tenant, shared by every request: one server process owns a data dir, so this cache
        # is the truth, and a settings change (the clock) is seen by the next request without a reload.
        self._by_digest: dict[str, Tenant] = {}
        self._by_id: dict[str, Tenant] = {}
        self._seeded_ids: dict[str, IdFactory] = {}  # tenants that set a seed of their own (`/_fake/seed/`)
        self._lock = threading.Lock()

    def _cached(self, digest: str, tenant_id: str, settings: str) -> Tenant:
        with self._lock:
            tenant = self._by_id.get(tenant_id) or Tenant(tenant_id, from_json(settings))
            self._by_id[tenant_id] = self._by_digest[digest] = tenant
            return tenant

    def by_key(self, key: str) -> Tenant | None:
        digest = key_digest(key)
        tenant = self._by_digest.get(digest)
        if tenant is None:
            row = self.db.one("SELECT id, settings FROM tenants WHERE key_digest = ?", (digest,))
            tenant = self._cached(digest, row["id"], row["settings"]) if row else None
        return tenant

    def ensure(self, key: str, limit: int | None = None) -> Tenant | None:
        """The tenant of `key`, created on first use; None when it is new and `limit` tenants exist already."""
        digest = key_digest(key)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT id, settings FROM tenants WHERE key_digest = ?", (digest,)).fetchone()
            if row:
                return self._cached(digest, row["id"], row["settings"])
            if limit is not None and conn.execute("SELECT COUNT(*) FROM tenants").fetchone()[0] >= limit:
                return None
            tenant_id = self.ids.fresh(id_taken(conn, "tenants"))
            settings = to_json({"clock": self._fresh_clock().to_dict()})
            conn.execute("INSERT INTO tenants (id, key_digest, created, settings) VALUES (?, ?, ?, ?)",
                         (tenant_id, digest, self.real_time(), settings))
        return self._cached(digest, tenant_id, settings)

    def all(self) -> list[Tenant]:
        rows = self.db.query("SELECT id, key_digest, settings FROM tenants")
        return [self._cached(r["key_digest"], r["id"], r["settings"]) for r in rows]

    def ids_for(self, tenant: Tenant) -> IdFactory:
        """Where the tenant's new ids come from: its own seeded source, or the server's."""
        return self._seeded_ids.get(tenant.id) or self.ids

    def seed(self, tenant: Tenant | None, seed: int) -> None:
        """Repeatable ids for one tenant, or (None) for the whole server, dropping the tenants' own seeds."""
        with self._lock:
            if tenant is None:
                self._seeded_ids.clear()
                self.ids.seed(seed)
            else:
                self._seeded_ids[tenant.id] = IdFactory(seed)

    def save_settings(self, tenant: Tenant, settings: dict[str, Any]) -> None:
        """Replace the tenant's settings: in memory only once the store took them, so a value the store refuses
        leaves the tenant as it was (a NaN clock once broke every later call of its tenant)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE tenants SET settings = ? WHERE id = ?", (to_json(settings), tenant.id))
        tenant.settings = settings

    def restart(self, tenant: Tenant) -> None:
        """Forget the tenant's settings; its clock starts afresh."""
        self.save_settings(tenant, {"clock": self._fresh_clock().to_dict()})

    # -- the clock ---------------------------------------------------------------------------------------------
    def _fresh_clock(self) -> Clock:
        return Clock.fresh(self.clock_defaults.mode, self.clock_defaults.factor, self.real_time())

    def set_defaults(self, mode: str | None, factor: float | None) -> None:
        """The clock new tenants (and reset ones) start with."""
        self.clock_defaults.mode = mode or self.clock_defaults.mode
        self.clock_defaults.factor = factor or self.clock_defaults.factor

    def clock(self, tenant: Tenant) -> Clock:
        raw = tenant.settings.get("clock")
        return Clock.from_dict(raw) if raw else self._fresh_clock()

    def now(self, tenant: Tenant) -> float:
        return self.clock(tenant).now(self.real_time())

    def update_clock(self, tenant: Tenant, change: Callable[[Clock, float], None]) -> Clock:
        clock = self.clock(tenant)
        change(clock, self.real_time())
        self.save_settings(tenant, {**tenant.settings, "clock": clock.to_dict()})
        return clock

    def user(self, tenant: Tenant, catalog: Catalog | None = None) -> dict[str, Any]:
        """The user behind a key, from the catalog's user template (the tenant's own catalog when given)."""
        template = (catalog or self.catalog).user_template  # type: ignore[union-attr]
        return {**template, "id": tenant.id, "email": tenant.email}
