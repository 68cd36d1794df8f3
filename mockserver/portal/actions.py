"""What the portal changes, each through the control plane's (or the API's) own operation as the signed-in
tenant, and the file download through the API's `downloadFile`. POST, then redirect (303) to a fixed page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from ..spec import control_spec
from . import internal
from .internal import segment
from .wiring import wiring


def _act(dispatcher: Any, method: str, path: str, body: Any, done: str) -> None:
    response = internal.call(dispatcher, method, path, body)
    if response.status_code >= 400:
        flash(f"Refused ({response.status_code}): {internal.problem(response)}", "error")
    else:
        flash(done, "ok")


def _control(method: str, path: str, operation_id: str | None, done: str) -> Response:
    body = internal.form_body(control_spec(), operation_id, request.form) if operation_id else None
    _act(wiring().control, method, path, body, done)
    return redirect(url_for("portal.control"), 303)


def add_routes(bp: Blueprint) -> None:
    @bp.post("/portal/control/clock")
    def set_clock() -> Response:
        return _control("PUT", "/_fake/clock/", "setClock", "Clock changed.")

    @bp.post("/portal/control/advance")
    def advance_clock() -> Response:
        return _control("POST", "/_fake/clock/advance/", "advanceClock",
                        f"Clock advanced by {request.form.get('seconds', '')[:20]} s.")

    @bp.post("/portal/control/scenario")
    def default_scenario() -> Response:
        return _control("PUT", "/_fake/scenario/", "setDefaultScenario", "Scenario set for jobs submitted from now on.")

    @bp.post("/portal/control/faults")
    def add_fault() -> Response:
        return _control("POST", "/_fake/faults/", "createFault", "Fault rule added.")

    @bp.post("/portal/control/faults/<fault_id>/delete")
    def delete_fault(fault_id: str) -> Response:
        return _control("DELETE", f"/_fake/faults/{segment(fault_id)}/", None, "Fault rule removed.")

    @bp.post("/portal/control/faults/clear")
    def clear_faults() -> Response:
        return _control("DELETE", "/_fake/faults/", None, "Fault rules cleared.")

    @bp.post("/portal/control/journal/clear")
    def clear_journal() -> Response:
        return _control("DELETE", "/_fake/journal/", None, "Journal emptied.")

    @bp.post("/portal/jobs/<job_id>/scenario")
    def job_scenario(job_id: str) -> Response:
        body = internal.form_body(control_spec(), "setJobScenario", request.form)
        _act(wiring().control, "PUT", f"/_fake/jobs/{segment(job_id)}/scenario/", body, "Scenario set for this job.")
        return redirect(url_for("portal.job", job_id=job_id), 303)

    @bp.post("/portal/storage-devices/<device_id>/scenario")
    def device_scenario(device_id: str) -> Response:
        body = internal.form_body(control_spec(), "setStorageDeviceScenario", request.form)
        _act(wiring().control, "PUT", f"/_fake/storage-devices/{segment(device_id)}/scenario/", body,
             "Scenario set for this storage device.")
        return redirect(url_for("portal.device", device_id=device_id), 303)

    @bp.post("/portal/jobs/<job_id>/stop")
    def stop_job(job_id: str) -> Response:
        _act(wiring().api, "POST", f"/api/v2/jobs/{segment(job_id)}/stop/", None, "Stop requested.")
        return redirect(url_for("portal.job", job_id=job_id), 303)

    @bp.get("/portal/files/<file_id>/download")
    def download(file_id: str) -> Response:
        return internal.call(wiring().api, "GET", f"/api/v2/files/{segment(file_id)}/contents/")
