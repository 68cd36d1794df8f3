"""What the supervisor of real runs (`mockserver/runner/`) saw happen to a job's process, one row per executed
job: when it got a slot and started, when it was told to stop and why, when it exited and with what status.

Facts live apart from the job's own state (which requests rewrite whole), and each is set key by key, so a
request and the supervisor never overwrite each other. Reads compute status from the clock plus these facts.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from .db import Database, to_json


class RunFacts:
    """Over the `job_runs` table (store/migrations/0001_initial.*.sql)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, tenant_id: str, job_id: str) -> None:
        """A job that will run for real: it waits for a slot from now on (a restart finds it here)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO job_runs (job_id, tenant_id) VALUES (?, ?) ON CONFLICT (job_id) DO NOTHING",
                         (job_id, tenant_id))

    def get(self, job_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT facts FROM job_runs WHERE job_id = ?", (job_id,))
        return json.loads(row["facts"]) if row else {}

    def record(self, job_id: str, facts: dict[str, Any], conn: Any = None) -> None:
        """Add facts (merged key by key, as a JSON merge patch), in `conn`'s transaction when given."""
        if conn is not None:
            self._merge(conn, job_id, facts)
            return
        with self.db.transaction() as own:
            self._merge(own, job_id, facts)

    @staticmethod
    def _merge(conn: Any, job_id: str, facts: dict[str, Any]) -> None:
        row = conn.execute("SELECT facts FROM job_runs WHERE job_id = ?", (job_id,)).fetchone()
        if row is not None:
            conn.execute("UPDATE job_runs SET facts = ? WHERE job_id = ?",
                         (to_json(merge_patch(json.loads(row["facts"]), facts)), job_id))

    def unfinished(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(tenant id, job id, facts) of runs not ended: queued, or running when the server last stopped."""
        rows = self.db.query(f"SELECT job_id, tenant_id, facts FROM job_runs WHERE "
                             f"{self.db.json_text('facts', 'endedAt')} IS NULL ORDER BY {self.db.insert_order}")
        return [(r["tenant_id"], r["job_id"], json.loads(r["facts"])) for r in rows]

    def forget(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        if ids:
            with self.db.transaction() as conn:
                conn.executemany("DELETE FROM job_runs WHERE job_id = ?", [(i,) for i in ids])

    def forget_tenant(self, tenant_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM job_runs WHERE tenant_id = ?", (tenant_id,))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396, as SQLite's json_patch: objects merge key by key, a null removes the key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
