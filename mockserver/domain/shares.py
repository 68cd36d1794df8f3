"""Job sharing: a job shared with someone shows them in its `sharedWith`, and so do its input and output files
(outputs written after the share too, since a file is shared when its job is)."""
from __future__ import annotations

from typing import Any

from ..store.db import Database
from .tenants import Tenant

SUPPORT_DESKS = {"support@rescale.com": "rescale"}  # [U] a share to a support desk's address names that desk


class Shares:
    def __init__(self, db: Database) -> None:
        self.db = db

    def share_job(self, tenant: Tenant, job_id: str, doc: dict[str, Any], recipient: str) -> dict[str, Any]:
        inputs = [ref["file"]["id"] for ja in doc["jobanalyses"] for ref in ja.get("inputFiles") or []]
        inputs += [f["id"] for f in _sweep_files(doc) if f]  # a sweep's parameter file, templates and scripts
        with self.db.transaction() as conn:
            conn.executemany("INSERT INTO shares (tenant_id, object_id, recipient) VALUES (?, ?, ?) "
                             "ON CONFLICT (tenant_id, object_id, recipient) DO NOTHING",
                             [(tenant.id, object_id, recipient) for object_id in (job_id, *inputs)])
        return {"recipient": recipient, "supportDesk": SUPPORT_DESKS.get(recipient.lower())}

    def of(self, tenant: Tenant, *object_ids: str | None) -> list[str]:
        """Recipients of any of these objects (a file and its job), in the order they were shared with."""
        wanted = [o for o in object_ids if o]
        if not wanted:
            return []
        rows = self.db.query(f"SELECT recipient FROM shares WHERE tenant_id = ? AND object_id IN "
                             f"({', '.join('?' for _ in wanted)}) ORDER BY seq", (tenant.id, *wanted))
        return list(dict.fromkeys(r["recipient"] for r in rows))

    def forget(self, tenant: Tenant) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM shares WHERE tenant_id = ?", (tenant.id,))


def _sweep_files(doc: dict[str, Any]) -> list[dict[str, Any] | None]:
    """The files of a DOE job beyond its inputs (stored whole in the job, each with its `id`)."""
    files: list[dict[str, Any] | None] = [doc.get("paramFile")]
    for ja in doc["jobanalyses"]:
        files += [task["templateFile"] for task in ja.get("templateTasks") or []]
        files += [ja.get("preProcessScript"), ja.get("postProcessScript")]
    return files
