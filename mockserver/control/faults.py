"""Fault rules (WireMock/LocalStack-chaos style) and the bounded request journal, kept in the store so that every
server process over it sees the same. No HTTP here."""
from __future__ import annotations

import fnmatch
import itertools
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from ..domain.ids import seeded_bytes
from ..store import state
from ..store.db import Database, from_json, to_json


@dataclass
class Fault:
    id: str
    action: str  # status | latency | drop
    method: str = "*"
    path: str = "/api/*"
    status: int = 503
    retry_after: int | None = None
    latency_ms: int = 0
    after_bytes: int = 1
    times: int | None = None
    probability: float = 1.0
    tenant: str | None = None
    fired: int = 0

    def matches(self, method: str, path: str, tenant: str | None) -> bool:
        return (
            (self.method == "*" or self.method.upper() == method)
            and fnmatch.fnmatchcase(path, self.path)
            and (self.tenant is None or self.tenant == tenant)
            and (self.times is None or self.times > 0)
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_SPEC_FIELDS = ("action", "method", "path", "status", "retry_after", "latency_ms", "after_bytes", "probability")
STREAM = "faults:"  # the server's stream of probability draws; a tenant with a seed of its own has "faults:<id>"
_LIVE = "SELECT id, tenant_id, times, fired, spec FROM faults WHERE (times IS NULL OR times > 0)"


def _fault(row: Any) -> Fault:
    return Fault(id=row["id"], tenant=row["tenant_id"], times=row["times"], fired=row["fired"], **from_json(row["spec"]))


class FaultRules:
    """The rules live in the store: every server process sees the same rules, and `fire` counts a rule down inside a
    transaction, so `times: 3` fires three times in all. Probability draws are seeded draws from the store
    (`rng_streams`), so a seed repeats them without any process keeping a generator."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = state.cache(db)  # whether any rule is live, kept while the state version holds

    def seed(self, seed: int | None, tenant: str | None = None) -> None:
        """Seed the draws of one tenant's requests, or (None) of the whole server, dropping the tenants' seeds."""
        with self.db.transaction() as conn:
            if tenant is None:
                state.drop_streams(conn, STREAM)
                state.reseed(conn, STREAM, seed)
            else:
                state.reseed(conn, STREAM + tenant, seed)

    def add(self, tenant: str | None, **spec: Any) -> Fault:
        with self.db.transaction() as conn:
            seq = state.next_count(conn, "faults")
            fault = Fault(id=f"f{seq}", tenant=tenant, **spec)
            conn.execute("INSERT INTO faults (id, seq, tenant_id, times, fired, spec) VALUES (?, ?, ?, ?, 0, ?)",
                         (fault.id, seq, tenant, fault.times, to_json({k: getattr(fault, k) for k in _SPEC_FIELDS})))
            self.cache.changed(conn)
        return fault

    def list(self, tenant: str | None) -> list[Fault]:
        sql = "SELECT id, tenant_id, times, fired, spec FROM faults"
        rows = (self.db.query(sql + " ORDER BY seq") if tenant is None else
                self.db.query(sql + " WHERE tenant_id = ? ORDER BY seq", (tenant,)))
        return [_fault(r) for r in rows]

    def remove(self, fault_id: str, tenant: str | None) -> bool:
        with self.db.transaction() as conn:
            if tenant is None:
                removed = conn.execute("DELETE FROM faults WHERE id = ?", (fault_id,)).rowcount > 0
            else:
                removed = conn.execute("DELETE FROM faults WHERE id = ? AND tenant_id = ?",
                                       (fault_id, tenant)).rowcount > 0
            self.cache.changed(conn)
            return removed

    def clear(self, tenant: str | None) -> None:
        with self.db.transaction() as conn:
            if tenant is None:
                conn.execute("DELETE FROM faults")
            else:
                conn.execute("DELETE FROM faults WHERE tenant_id = ?", (tenant,))
            self.cache.changed(conn)

    def armed(self) -> bool:
        """Whether any rule may still fire, cached while the state version holds (a rule added, removed or spent
        bumps it), so a request pays nothing more when there is none."""
        return self.cache.get("faults.armed", lambda: self.db.one(
            "SELECT 1 FROM faults WHERE times IS NULL OR times > 0 LIMIT 1") is not None)

    def fire(self, method: str, path: str, tenant: str | None) -> Fault | None:
        """The first matching rule that fires this time (counting it down), if any."""
        where = " AND (tenant_id IS NULL OR tenant_id = ?) ORDER BY seq"
        if not any(_fault(r).matches(method, path, tenant) for r in self.db.query(_LIVE + where, (tenant,))):
            return None  # nothing to count: no write
        streams = (STREAM + tenant, STREAM) if tenant else (STREAM,)
        with self.db.transaction() as conn:  # read again under the write lock: the counts are current
            for row in conn.execute(_LIVE + where, (tenant,)).fetchall():
                fault = _fault(row)
                if not fault.matches(method, path, tenant) or not _draw_below(conn, streams, fault.probability):
                    continue
                fault.fired += 1
                fault.times = None if fault.times is None else fault.times - 1
                conn.execute("UPDATE faults SET fired = ?, times = ? WHERE id = ?", (fault.fired, fault.times, fault.id))
                if fault.times == 0:  # spent: `armed` may be False now
                    self.cache.changed(conn)
                return fault
        return None


def _draw_below(conn: Any, streams: tuple[str, ...], probability: float) -> bool:
    """Whether a draw in [0, 1) falls below `probability` (a certain rule draws nothing)."""
    if probability >= 1:
        return True
    drawn = state.draw(conn, streams)
    if drawn is None:
        return random.random() < probability
    return int.from_bytes(seeded_bytes("faults", *drawn)[:8], "big") / 2**64 < probability


@dataclass
class JournalEntry:
    id: int
    time: str
    method: str
    path: str
    query: str
    status: int | None
    duration_ms: float
    operation_id: str | None
    tenant: str | None
    fault: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


_ENTRY_COLUMNS = "id, time, method, path, query, status, duration_ms, operation_id, tenant_id, fault"


class Journal:
    """The last `size` requests, in the store (every process writes and reads the same journal); API keys are never
    stored (only the tenant id). A row is one standalone insert; older rows are trimmed every `TRIM_EVERY` inserts
    of a process, and reads look only at the newest `size` ids, so the bound holds in between."""

    TRIM_EVERY = 64

    def __init__(self, db: Database, size: int) -> None:
        self.db, self.size = db, size
        self._inserts = itertools.count(1)  # this process's, only to space out the trims

    def add(self, entry: JournalEntry) -> None:
        self.db.append(f"INSERT INTO journal ({_ENTRY_COLUMNS.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (entry.time, entry.method, entry.path, entry.query, entry.status, entry.duration_ms,
                        entry.operation_id, entry.tenant, entry.fault))
        if next(self._inserts) % self.TRIM_EVERY == 0:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?", (self.size,))

    def find(self, tenant: str | None, method: str | None = None, path: str | None = None,
             operation_id: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        sql = (f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE id > (SELECT COALESCE(MAX(id), 0) FROM journal) - ?"
               " AND cleared = 0")
        args: list[Any] = [self.size]
        for column, value in (("tenant_id", tenant), ("method", method and method.upper()),
                              ("operation_id", operation_id)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY id DESC"
        if limit and path is None:
            sql += " LIMIT ?"
            args.append(limit)
        found = [JournalEntry(id=r["id"], time=r["time"], method=r["method"], path=r["path"], query=r["query"],
                              status=r["status"], duration_ms=r["duration_ms"], operation_id=r["operation_id"],
                              tenant=r["tenant_id"], fault=r["fault"])
                 for r in self.db.query(sql, tuple(args))
                 if path is None or fnmatch.fnmatchcase(r["path"], path)]
        return found[:limit] if limit else found

    def clear(self, tenant: str | None) -> None:
        """Deletes the entries but keeps the newest row as a marker, so ids never go back (SQLite gives the next
        insert the highest id + 1; PostgreSQL's identity column never gives an id twice anyway)."""
        mine, args = ("", ()) if tenant is None else (" AND tenant_id = ?", (tenant,))
        with self.db.transaction() as conn:
            newest = "(SELECT MAX(id) FROM journal)"
            conn.execute(f"DELETE FROM journal WHERE id < {newest}{mine}", args)
            conn.execute(f"UPDATE journal SET cleared = 1 WHERE id = {newest}{mine}", args)
