"""What the supervisor of real runs (`mockserver/runner/`) saw happen to a job's process, one row per executed
job: when it got a slot and started, when it was told to stop and why, when it exited and with what status.

Facts live apart from the job's own state (which requests rewrite whole), and each is set key by key, so a
request and the supervisor never overwrite each other. Reads compute status from the clock plus these facts.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from .db import Database, to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_runs (
    job_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    facts TEXT NOT NULL DEFAULT '{}'
);
"""


class RunFacts:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.connection().executescript(SCHEMA)

    def open(self, tenant_id: str, job_id: str) -> None:
        """A job that will run for real: it waits for a slot from now on (a restart finds it here)."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO job_runs (job_id, tenant_id) VALUES (?, ?)", (job_id, tenant_id))

    def get(self, job_id: str) -> dict[str, Any]:
        row = self.db.one("SELECT facts FROM job_runs WHERE job_id = ?", (job_id,))
        return json.loads(row["facts"]) if row else {}

    def record(self, job_id: str, facts: dict[str, Any], conn: sqlite3.Connection | None = None) -> None:
        """Add facts (json_patch merges keys), in `conn`'s transaction when given."""
        sql = "UPDATE job_runs SET facts = json_patch(facts, ?) WHERE job_id = ?"
        if conn is not None:
            conn.execute(sql, (to_json(facts), job_id))
            return
        with self.db.transaction() as own:
            own.execute(sql, (to_json(facts), job_id))

    def unfinished(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(tenant id, job id, facts) of runs not ended: queued, or running when the server last stopped."""
        rows = self.db.query("SELECT job_id, tenant_id, facts FROM job_runs "
                             "WHERE json_extract(facts, '$.endedAt') IS NULL ORDER BY rowid")
        return [(r["tenant_id"], r["job_id"], json.loads(r["facts"])) for r in rows]

    def forget(self, job_ids: Iterable[str]) -> None:
        ids = list(job_ids)
        if ids:
            with self.db.transaction() as conn:
                conn.executemany("DELETE FROM job_runs WHERE job_id = ?", [(i,) for i in ids])

    def forget_tenant(self, tenant_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM job_runs WHERE tenant_id = ?", (tenant_id,))
