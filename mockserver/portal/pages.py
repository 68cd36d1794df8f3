"""The portal's pages: what one signed-in tenant has, read from the same domain objects the API handlers read."""
from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..domain.errors import NotFound
from ..domain.jobs import JOB_STATUS_FILTER, Snapshot
from ..spec import control_spec, rescale_spec
from ..timefmt import iso
from . import internal
from .auth import tenant
from .wiring import wiring

PAGE_SIZE = 25
LOG_LINES = 200


def _query_enum(operation_id: str, name: str) -> list[str]:
    spec = rescale_spec()
    op = spec.document["paths"][spec.operations[operation_id].path][spec.operations[operation_id].method.lower()]
    for raw in op.get("parameters", []):
        param = spec.resolve(raw)
        if param["name"] == name:
            return list(spec.resolve(param.get("schema", {})).get("enum", []))
    return []


def _timeline(pairs: list[tuple[str, Any]], kind: str) -> list[dict[str, Any]]:
    """A status history oldest first, with the dates the API would write."""
    style = wiring().backend.config.date_style
    return [{"status": e.status, "date": iso(e.at, kind, style), "reason": e.reason} for _, e in reversed(pairs)]


def job_status(snap: Snapshot) -> str:
    return snap.status.status if snap.status else "Not submitted"


def _attached_device(snap: Snapshot) -> dict[str, Any] | None:
    """The storage device a job is attached to (`POST jobs/{id}/storage-devices/`), with its status now."""
    device_id = snap.doc.get("storageDevice")
    if not isinstance(device_id, str):
        return None
    try:
        device = wiring().backend.devices.snapshot(tenant(), device_id)
    except NotFound:
        return {"id": device_id, "name": "", "status": ""}
    return {"id": device.id, "name": device.record.doc.get("name", ""), "status": device.status}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if re.fullmatch(r"[0-9]{1,6}", raw) and int(raw) > 0 else 1


def _clock_now() -> str:
    backend = wiring().backend
    return iso(backend.tenants.now(tenant()), "inserted", backend.config.date_style)


def add_routes(bp: Blueprint) -> None:
    @bp.app_template_global()
    def fake_now() -> str:
        return _clock_now()

    @bp.errorhandler(HTTPException)
    def page_error(err: HTTPException) -> tuple[str, int]:
        return render_template("error.html", error=err), err.code or 500

    @bp.get("/portal")
    @bp.get("/portal/")
    def home() -> Response:
        return redirect(url_for("portal.jobs"), 303)

    @bp.get("/portal/jobs")
    def jobs() -> str:
        backend, me = wiring().backend, tenant()
        states = _query_enum("listJobs", "state")
        state = request.args.get("state") if request.args.get("state") in states else None
        status = request.args.get("job_status") if request.args.get("job_status") in JOB_STATUS_FILTER else None
        page = _page_number()
        count, snaps = backend.jobs.page(me, (page - 1) * PAGE_SIZE, PAGE_SIZE, state, status)
        rows = [{"id": s.id, "name": s.doc.get("name") or "", "status": job_status(s),
                 "cluster": s.cluster_status.status if s.cluster_status else "",
                 "created": iso(s.record.state["dateInserted"], "inserted", backend.config.date_style)}
                for s in snaps]
        return render_template("jobs.html", active="jobs", rows=rows, count=count, page=page,
                               pages=max(1, -(-count // PAGE_SIZE)), states=states, state=state,
                               statuses=JOB_STATUS_FILTER, status=status)

    @bp.get("/portal/jobs/<job_id>")
    def job(job_id: str) -> str:
        backend, me = wiring().backend, tenant()
        try:
            snap = backend.jobs.settle(me, job_id)  # the page lists a finished job's outputs
        except NotFound:
            abort(404, "No such job for this tenant.")
        running = snap.run_started and not snap.finished
        outputs = backend.files.page(me, 0, 1000, job_id=snap.id)[1] if snap.finished else []
        log = backend.jobs.live_log(snap).splitlines()[-LOG_LINES:] if running else []
        saved_log = next((f for f in outputs if f.relative_path == "process_output.log"), None)
        if saved_log is not None:
            log = [line.rstrip("\r\n") for line in backend.files.lines(me, saved_log.id)[-LOG_LINES:]]
        definition = internal.payload(internal.call(wiring().api, "GET", f"/api/v2/jobs/{internal.segment(snap.id)}/"))
        device = _attached_device(snap)
        return render_template(
            "job.html", active="jobs", snap=snap, status=job_status(snap), running=running, log=log, device=device,
            timeline=_timeline(snap.statuses(), "job_status"),
            cluster_timeline=_timeline(snap.cluster_statuses(), "cluster_status"),
            outputs=outputs, definition=definition, definition_json=json.dumps(definition, indent=2),
            live=not snap.finished,
            outcome=internal.field_schema(control_spec(), "setJobScenario", "outcome"),
        )

    @bp.get("/portal/clusters")
    def clusters() -> str:
        backend, me = wiring().backend, tenant()
        count, snaps = backend.clusters.page(me, 0, 100)
        rows = [{"id": s.id, "name": s.record.doc.get("name", ""), "status": s.status,
                 "coreType": s.record.doc["hardware"].get("coreType"),
                 "timeline": _timeline(s.statuses(), "cluster_status"),
                 "jobs": [j for j in s.record.state.get("jobs", []) if isinstance(j, str)]} for s in snaps]
        return render_template("clusters.html", active="clusters", rows=rows, count=count)

    @bp.get("/portal/storage-devices")
    def devices() -> str:
        backend, me = wiring().backend, tenant()
        count, snaps = backend.devices.page(me, 0, 100, None)
        rows = [{"id": s.id, "name": s.record.doc.get("name", ""), "status": s.status,
                 "storageSize": s.record.doc.get("storageSize"), "coreType": s.record.doc["hardware"].get("coreType"),
                 "created": iso(s.record.state["created"], "inserted", backend.config.date_style)} for s in snaps]
        return render_template("devices.html", active="devices", rows=rows, count=count)

    @bp.get("/portal/storage-devices/<device_id>")
    def device(device_id: str) -> str:
        backend, me = wiring().backend, tenant()
        try:
            snap = backend.devices.snapshot(me, device_id)
        except NotFound:
            abort(404, "No such storage device for this tenant.")
        path = f"/api/v2/storage-devices/{internal.segment(snap.id)}/"
        definition = internal.payload(internal.call(wiring().api, "GET", path))
        return render_template(
            "device.html", active="devices", snap=snap, definition=definition, api_path=path,
            definition_json=json.dumps(definition, indent=2), timeline=_timeline(snap.statuses(), "cluster_status"),
            jobs=[j for j in snap.record.state.get("jobs", []) if isinstance(j, str)], live=snap.active,
            outcome=internal.field_schema(control_spec(), "setStorageDeviceScenario", "outcome"),
        )

    @bp.get("/portal/control")
    def control() -> str:
        dispatcher, spec = wiring().control, control_spec()
        clock = internal.payload(internal.call(dispatcher, "GET", "/_fake/clock/"))
        faults = internal.payload(internal.call(dispatcher, "GET", "/_fake/faults/"))
        journal = internal.payload(internal.call(dispatcher, "GET", "/_fake/journal/", query={"limit": 100}))
        return render_template(
            "control.html", active="control", clock=clock, faults=faults, journal=journal,
            mode=internal.field_schema(spec, "setClock", "mode"),
            factor=internal.field_schema(spec, "setClock", "factor"),
            seconds=internal.field_schema(spec, "advanceClock", "seconds"),
            fault={f: internal.field_schema(spec, "createFault", f) for f in
                   ("method", "path", "action", "status", "retryAfter", "latencyMs", "afterBytes", "times",
                    "probability")},
            scenario={f: internal.field_schema(spec, "setDefaultScenario", f) for f in
                      ("outcome", "exitCode", "reason", "runSeconds")},
        )
