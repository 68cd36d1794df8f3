"""Persistent clusters and storage devices are stored alike: a row of `doc` (what the user asked for) and `state`
(what happened since), found by tenant and id. A change reads the row again inside its transaction (serialized
across worker processes), so a change made meanwhile through another worker is never overwritten."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Generic, Iterator, TypeVar

from ..store.db import Database, from_json, to_json
from .errors import NotFound
from .ids import newest_first
from .lifecycle import ClusterPlan
from .tenants import Tenant, Tenants


@dataclass
class StateRecord:
    id: str
    doc: dict[str, Any]
    state: dict[str, Any]


@dataclass
class LifeSnapshot:
    """A cluster or storage device as of `now`: its status and history come from its plan (a cluster's life)."""
    record: StateRecord
    plan: ClusterPlan
    now: float

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def status(self) -> str:
        return self.plan.status(self.now).status

    def statuses(self) -> list[tuple[str, Any]]:
        """(id, event) newest first."""
        return newest_first(self.id, "status", self.plan.events_until(self.now))


Snapshot = TypeVar("Snapshot", bound=LifeSnapshot)  # the subclass's own kind


class StoredLives(Generic[Snapshot]):
    TABLE = ""  # clusters | storage_devices
    NOUN = ""  # what a 404 names
    db: Database
    tenants: Tenants

    def _snapshot_of(self, tenant: Tenant, record: StateRecord, poll: bool = False) -> Snapshot:
        """The record now; `poll` moves `record.state["pollStep"]` (the caller saves it)."""
        raise NotImplementedError

    def _load(self, tenant: Tenant, record_id: str, conn: Any = None) -> StateRecord:
        """The stored record; inside a transaction pass its `conn`, so the read is part of it."""
        sql = f"SELECT id, doc, state FROM {self.TABLE} WHERE id = ? AND tenant_id = ?"
        args = (record_id, tenant.id)
        row = conn.execute(sql, args).fetchone() if conn is not None else self.db.one(sql, args)
        if row is None:
            raise NotFound(self.NOUN)
        return StateRecord(row["id"], from_json(row["doc"]), from_json(row["state"]))

    def _save_state(self, conn: Any, record: StateRecord) -> None:
        conn.execute(f"UPDATE {self.TABLE} SET state = ? WHERE id = ?", (to_json(record.state), record.id))

    @contextlib.contextmanager
    def _changing(self, tenant: Tenant, record_id: str, conn: Any = None) -> Iterator[Snapshot]:
        """Read-modify-write of the state in one transaction (the caller's, when it passes `conn`). Saved if the
        block changed the state; an exception rolls everything back."""
        with contextlib.nullcontext(conn) if conn is not None else self.db.transaction() as conn:
            snap = self._snapshot_of(tenant, self._load(tenant, record_id, conn))
            before = to_json(snap.record.state)
            yield snap
            if to_json(snap.record.state) != before:
                self._save_state(conn, snap.record)

    def snapshot(self, tenant: Tenant, record_id: str, poll: bool = False) -> Snapshot:
        """The record now, computed from the clock; nothing is written but, in the `poll` clock mode, a status
        read's (`poll=True`) step, saved in a transaction of its own that reads the record again (as jobs do)."""
        if poll and self.tenants.clock(tenant).mode == "poll":
            with self.db.transaction() as conn:
                record = self._load(tenant, record_id, conn)
                step = record.state.get("pollStep")
                snap = self._snapshot_of(tenant, record, poll=True)
                if record.state.get("pollStep") != step:
                    self._save_state(conn, record)
            return snap
        return self._snapshot_of(tenant, self._load(tenant, record_id))
