"""High-performance storage devices: defined, started by `submit/`, stopped by `shutdown/` or their walltime, all
computed from the tenant's clock as a persistent cluster's life is; files copied onto them; jobs attached to them
wait until they are Started (reference rescale-api-v3-and-catalog.md, "High-performance storage devices")."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..store.db import Database, to_json
from .clock import read_time
from .errors import InvalidInput, NotAllowed
from .ids import stable_id
from .jobspec import as_bool, as_int, core_type_code, pk_error
from .lifecycle import CLUSTER_BOOTING, CLUSTER_UP, ClusterPlan, Event, cluster_plan, stretch
from .stored import LifeSnapshot, StateRecord, StoredLives
from .tenants import Tenant, Tenants

FAILED_TO_START = "The storage device failed to start"
ERROR_TO_STOPPED = 30.0


@dataclass
class DeviceSnapshot(LifeSnapshot):
    @property
    def cluster_id(self) -> str:
        return stable_id("storage-cluster", self.record.id)

    @property
    def active(self) -> bool:
        return self.status not in ("Stopped", "Error")


def device_plan(created: float, start_at: float | None, stop_at: float | None, walltime_seconds: float | None,
                fails: bool) -> ClusterPlan:
    """A persistent cluster's life; one that fails to start goes `Starting > Error > Stopped` instead."""
    if not fails or start_at is None:
        return cluster_plan(created, start_at, stop_at, walltime_seconds)
    booting = cluster_plan(created, start_at, None, None)
    kept = [e for e in booting.events if e.status != "Started"]
    error_at = kept[-1].at - CLUSTER_BOOTING + CLUSTER_UP
    if stop_at is not None and stop_at < error_at:  # stopped before it could fail
        return cluster_plan(created, start_at, stop_at, None)
    events = (*kept, Event(error_at, "Error", FAILED_TO_START), Event(error_at + ERROR_TO_STOPPED, "Stopped",
                                                                        FAILED_TO_START))
    return ClusterPlan(events, None, error_at)


class Devices(StoredLives["DeviceSnapshot"]):
    TABLE, NOUN = "storage_devices", "storage device"

    def __init__(self, db: Database, tenants: Tenants, regions: list[dict[str, Any]]) -> None:
        self.db, self.tenants, self.regions = db, tenants, regions

    # -- reading -----------------------------------------------------------------------------------------------
    def plan(self, record: StateRecord) -> ClusterPlan:
        hours = record.doc["hardware"].get("walltime")
        start, pace = record.state.get("startAt"), record.state.get("pace", 1.0)
        fails = (record.state.get("scenario") or {}).get("outcome") == "fail_to_start"
        life = device_plan(record.state["created"], start, stretch(start, pace, record.state.get("stopAt"))
                           if start is not None else None, None if hours is None else hours * 3600.0, fails)
        return life if start is None else life.rescaled(start, pace)

    def _snapshot_of(self, tenant: Tenant, record: StateRecord, poll: bool = False) -> DeviceSnapshot:
        """`poll`: moves `record.state["pollStep"]` (the caller saves it)."""
        plan = self.plan(record)
        now, _moved = read_time(self.tenants.clock(tenant), self.tenants.real_time(), record.state, plan.steps(), poll)
        return DeviceSnapshot(record, plan, now)

    def page(self, tenant: Tenant, offset: int, limit: int, active: bool | None) -> tuple[int, list[DeviceSnapshot]]:
        rows = self.db.query("SELECT id FROM storage_devices WHERE tenant_id = ? ORDER BY seq DESC", (tenant.id,))
        snaps = [self.snapshot(tenant, r["id"]) for r in rows]
        if active is not None:
            snaps = [s for s in snaps if s.active == active]
        return len(snaps), snaps[offset:offset + limit]

    def available(self, tenant: Tenant, device_id: str) -> tuple[float | None, float | None]:
        """(when the device is Started, when it stops being usable): what a job attached to it waits for. The
        first is None while it is not going to start (not submitted, failing, or stopped first)."""
        snap = self.snapshot(tenant, device_id)
        gone = snap.plan.stops
        if snap.plan.started is None:
            return None, gone
        return snap.plan.started, gone

    # -- changing ----------------------------------------------------------------------------------------------
    def create(self, tenant: Tenant, body: dict[str, Any], version: str) -> DeviceSnapshot:
        doc = self._doc_v3(body) if version == "v3" else self._doc_v2(body)
        region = (body.get("region") or {}).get("id") if version == "v2" else None
        if region is not None:
            found = next((r for r in self.regions if r["id"] == region), None)
            if found is None:
                raise InvalidInput({"region": {"id": pk_error(region)}})
            doc["region"] = found
        device_id = self.tenants.ids.new()
        state = {"created": self.tenants.now(tenant), "downloads": [], "jobs": []}
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO storage_devices (id, tenant_id, doc, state) VALUES (?, ?, ?, ?)",
                         (device_id, tenant.id, to_json(doc), to_json(state)))
        return self.snapshot(tenant, device_id)

    @staticmethod
    def _doc_v2(body: dict[str, Any]) -> dict[str, Any]:
        hardware = body.get("hardware") or {}
        return {
            "name": body["name"], "storageSize": as_int(body.get("storageSize"), 1), "region": None,
            "hardware": {"walltime": as_int(hardware.get("walltime")), "coresPerSlot": as_int(hardware.get("coresPerSlot")),
                         "coreType": core_type_code(hardware["coreType"]) if hardware.get("coreType") else None},
            "firstAlert": as_int(body.get("firstAlert")), "secondAlert": as_int(body.get("secondAlert")),
            "autoextend": as_bool(body.get("autoextend")), "autoextendPercent": as_int(body.get("autoextendPercent")),
            "walltimeAlert": as_bool(body.get("walltimeAlert")),
            "walltimeAlertHours": as_int(body.get("walltimeAlertHours")),
            "runLowPriority": as_bool(body.get("runLowPriority")),
        }

    @staticmethod
    def _doc_v3(body: dict[str, Any]) -> dict[str, Any]:
        megabytes = as_int(body.get("storage_size_mb"), 1024)
        return {
            "name": body["name"], "storageSize": max(1, math.ceil((megabytes or 1) / 1024)), "region": None,
            "hardware": {"walltime": as_int(body.get("walltime")), "coresPerSlot": as_int(body.get("cores_per_slot")),
                         "coreType": body.get("core_type")},
            "firstAlert": None, "secondAlert": None, "autoextend": False, "autoextendPercent": None,
            "walltimeAlert": False, "walltimeAlertHours": None, "runLowPriority": as_bool(body.get("run_low_priority")),
        }

    def submit(self, tenant: Tenant, device_id: str) -> None:
        with self._changing(tenant, device_id) as snap:
            if snap.record.state.get("startAt") is not None:
                raise NotAllowed(f"The storage device has already been started (status: {snap.status}).")
            snap.record.state.update(startAt=snap.now, pace=self.tenants.clock(tenant).pace)

    def shutdown(self, tenant: Tenant, device_id: str) -> None:
        with self._changing(tenant, device_id) as snap:
            if snap.record.state.get("startAt") is None:
                raise NotAllowed("The storage device has not been started.")
            if snap.status not in ("Stop Requested", "Stopping", "Stopped", "Error"):
                snap.record.state["stopAt"] = snap.now

    def copy_files(self, tenant: Tenant, device_id: str, file_ids: list[str], found: set[str],
                   output_dir: str) -> None:
        missing = [{} if f in found else {"id": pk_error(f)} for f in file_ids]
        if any(missing):
            raise InvalidInput({"files": missing})
        with self._changing(tenant, device_id) as snap:
            if snap.status != "Started":
                raise NotAllowed(f"Files can only be copied to a Started storage device (status: {snap.status}).")
            snap.record.state["downloads"].append({"files": file_ids, "outputDir": output_dir, "at": snap.now})

    def attach(self, tenant: Tenant, device_id: str, job_id: str) -> None:
        with self._changing(tenant, device_id) as snap:
            if job_id not in snap.record.state["jobs"]:
                snap.record.state["jobs"].append(job_id)

    def set_scenario(self, tenant: Tenant, device_id: str, scenario: dict[str, Any]) -> None:
        with self._changing(tenant, device_id) as snap:
            snap.record.state["scenario"] = scenario
