"""Persistent clusters (v3): created, started, stopped by the user or their walltime; jobs submitted to one run
one after another while it is Started, and it keeps running when they end."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..store.db import Database, id_taken, to_json
from .clock import read_time
from .errors import InvalidInput, NotAllowed
from .jobspec import JobSpecs, as_bool
from .lifecycle import ClusterPlan, cluster_plan, stretch
from .stored import LifeSnapshot, StateRecord, StoredLives
from .tenants import Tenant, Tenants


@dataclass
class ClusterSnapshot(LifeSnapshot):
    @property
    def stopping(self) -> bool:
        return self.status in ("Stop Requested", "Stopping", "Stopped")


class Clusters(StoredLives["ClusterSnapshot"]):
    TABLE, NOUN = "clusters", "cluster"

    def __init__(self, db: Database, tenants: Tenants, specs_for: Callable[[Tenant], JobSpecs]) -> None:
        self.db, self.tenants = db, tenants
        self.specs_for = specs_for  # the tenant's catalog and catalog mode

    def plan(self, record: StateRecord) -> ClusterPlan:
        hours = record.doc["hardware"].get("walltime")
        start, pace = record.state.get("startAt"), record.state.get("pace", 1.0)
        if start is None:
            return cluster_plan(record.state["created"], None, None, None)
        life = cluster_plan(record.state["created"], start, stretch(start, pace, record.state.get("stopAt")),
                            None if hours is None else hours * 3600.0)
        return life.rescaled(start, pace)

    def _snapshot_of(self, tenant: Tenant, record: StateRecord, poll: bool = False) -> ClusterSnapshot:
        """`poll`: moves `record.state["pollStep"]` (the caller saves it)."""
        plan = self.plan(record)
        now, _moved = read_time(self.tenants.clock(tenant), self.tenants.real_time(), record.state, plan.steps(), poll)
        return ClusterSnapshot(record, plan, now)

    def page(self, tenant: Tenant, offset: int, limit: int) -> tuple[int, list[ClusterSnapshot]]:
        count = self.db.one("SELECT COUNT(*) FROM clusters WHERE tenant_id = ?", (tenant.id,))[0]
        rows = self.db.query("SELECT id FROM clusters WHERE tenant_id = ? ORDER BY seq DESC LIMIT ? OFFSET ?",
                             (tenant.id, limit, offset))
        return count, [self.snapshot(tenant, r["id"]) for r in rows]

    def create(self, tenant: Tenant, body: dict[str, Any]) -> ClusterSnapshot:
        errors: dict[str, Any] = {}
        specs = self.specs_for(tenant)
        hardware, hardware_errors = specs.hardware(body["hardware"], None)
        if hardware_errors:
            errors["hardware"] = hardware_errors
        installed, installed_errors = [], []
        for item in body.get("installedAnalyses") or []:
            code, version = item["analysis"]["code"], str(item["analysis"]["version"])
            found = specs.catalog.analysis_version(code, version)
            installed_errors.append({} if found else {"analysis": {"version": [f'"{code}" "{version}" is not an '
                                                                               "available analysis version."]}})
            installed.append({"analysis": {"code": code, "version": found["versionCode"] if found else version}})
        if any(installed_errors):
            errors["installedAnalyses"] = installed_errors
        if errors:
            raise InvalidInput(errors)
        specs.commit_learned()
        doc = {"name": body["name"], "hardware": hardware, "installedAnalyses": installed,
               "runLowPriority": as_bool(body.get("runLowPriority"))}
        state = {"created": self.tenants.now(tenant), "jobs": []}
        with self.db.transaction() as conn:
            cluster_id = self.tenants.ids_for(tenant).fresh(id_taken(conn, "clusters"))
            conn.execute("INSERT INTO clusters (id, tenant_id, doc, state) VALUES (?, ?, ?, ?)",
                         (cluster_id, tenant.id, to_json(doc), to_json(state)))
        return self.snapshot(tenant, cluster_id)

    def start(self, tenant: Tenant, cluster_id: str) -> None:
        with self._changing(tenant, cluster_id) as snap:
            if snap.stopping:
                raise NotAllowed("The cluster has been stopped; create a new cluster to run more jobs.")
            if snap.record.state.get("startAt") is not None:
                raise NotAllowed(f"The cluster is already started (status: {snap.status}).")
            snap.record.state.update(startAt=snap.now, pace=self.tenants.clock(tenant).pace)

    def stop(self, tenant: Tenant, cluster_id: str) -> None:
        with self._changing(tenant, cluster_id) as snap:
            if snap.record.state.get("startAt") is None:
                raise NotAllowed("The cluster has not been started.")
            if not snap.stopping:
                snap.record.state["stopAt"] = snap.now

    def enqueue(self, tenant: Tenant, cluster_id: str, job_id: str, conn: Any = None) -> None:
        """Put a job in the cluster's queue (jobs run in the order they were submitted); inside the submitting
        transaction (`conn`), so a job is queued only if it is submitted."""
        with self._changing(tenant, cluster_id, conn) as snap:
            if snap.stopping:
                raise NotAllowed("The cluster is stopped; jobs can no longer be submitted to it.")
            if job_id not in snap.record.state["jobs"]:
                snap.record.state["jobs"].append(job_id)

    def queue(self, tenant: Tenant, cluster_id: str) -> list[str]:
        return list(self._load(tenant, cluster_id).state["jobs"])

    def forget_job(self, tenant: Tenant, cluster_id: str, job_id: str, busy_until: float, conn: Any = None) -> None:
        """A deleted job leaves only the time it kept the cluster busy, so later jobs keep their history (inside the
        deleting transaction, `conn`)."""
        with self._changing(tenant, cluster_id, conn) as snap:
            jobs = snap.record.state["jobs"]
            snap.record.state["jobs"] = [{"until": busy_until} if entry == job_id else entry for entry in jobs]
