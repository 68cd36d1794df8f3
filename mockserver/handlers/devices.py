"""High-performance storage devices (v2 and v3): thin handlers over domain/devices.py."""
from __future__ import annotations

from typing import Any

from ..call import Call, Handler, Reply, registrar
from ..domain.devices import DeviceSnapshot
from ..domain.jobspec import as_bool
from ..views import DeviceView, statuses_page, view_context

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


def device_view(call: Call, snap: DeviceSnapshot) -> DeviceView:
    return DeviceView(snap, view_context(call), call.op.version)


def _device_id(call: Call) -> str:
    return call.params["device_id"]


@operation("createStorageDevice", "createStorageDeviceV3")
def create_device(call: Call) -> Reply:
    return Reply(201, device_view(call, call.backend.devices.create(call.tenant, call.body, call.op.version)))


@operation("listStorageDevices", "listStorageDevicesV3")
def list_devices(call: Call) -> dict[str, Any]:
    active = call.params.get("active")

    def fetch(offset: int, limit: int) -> tuple[int, list[DeviceView]]:
        count, snaps = call.backend.devices.page(call.tenant, offset, limit, None if active is None else as_bool(active))
        return count, [device_view(call, s) for s in snaps]

    return call.page(fetch)


@operation("getStorageDevice", "getStorageDeviceV3")
def get_device(call: Call) -> dict[str, Any]:
    return device_view(call, call.backend.devices.snapshot(call.tenant, _device_id(call)))


@operation("listStorageDeviceStatuses", "listStorageDeviceStatusesV3")
def list_device_statuses(call: Call) -> dict[str, Any]:
    snap = call.backend.devices.snapshot(call.tenant, _device_id(call), poll=True)
    return statuses_page(call, snap.statuses(), snap.cluster_id, "cluster_status")


@operation("submitStorageDevice", "submitStorageDeviceV3")
def submit_device(call: Call) -> Reply:
    call.backend.devices.submit(call.tenant, _device_id(call))
    return Reply(200)


@operation("shutdownStorageDevice", "shutdownStorageDeviceV3")
def shutdown_device(call: Call) -> Reply:
    call.backend.devices.shutdown(call.tenant, _device_id(call))
    return Reply(202)


@operation("downloadFilesToStorageDevice", "downloadFilesToStorageDeviceV3")
def copy_files_to_device(call: Call) -> Reply:
    call.backend.devices.snapshot(call.tenant, _device_id(call))  # 404 first for an unknown device
    ids = [str(f["id"]) for f in call.body["files"]]
    found = set(call.backend.files.find(call.tenant, ids))
    call.backend.devices.copy_files(call.tenant, _device_id(call), ids, found, call.body.get("outputDir") or "")
    return Reply(202)


@operation("attachStorageDevice", "attachStorageDeviceV3")
def attach_device(call: Call) -> Reply:
    field = "storage_device" if call.op.version == "v3" else "storageDevice"
    device_id = str(call.body[field]["id"])
    call.backend.jobs.attach_device(call.tenant, call.params["job_id"], device_id,
                                    call.body.get("jobanalyses") or [], field)
    return Reply(201, {"id": device_id})


@operation("listStorageDeviceRegions")
def list_regions(call: Call) -> list[dict[str, Any]]:
    return call.backend.devices.regions
