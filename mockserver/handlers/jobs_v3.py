"""Job reads and actions that Rescale's python-sdk and staff scripts use beyond the seeds: the job's clusters, its
platform events, and sharing."""
from __future__ import annotations

from typing import Any

from ..call import Call, Handler, registrar
from ..domain.joblogs import event_messages
from ..domain.sshkeys import instance_username

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


@operation("listJobClustersV3")
def list_job_clusters(call: Call) -> dict[str, Any]:
    snap = call.backend.jobs.snapshot(call.tenant, call.params["job_id"])
    refs = [{"id": snap.cluster_id}] if snap.plan is not None else []
    return call.page(lambda offset, limit: (len(refs), refs[offset:offset + limit]))


@operation("listJobLogsV3")
def list_job_logs(call: Call) -> list[dict[str, str]]:
    snap = call.backend.jobs.snapshot(call.tenant, call.params["job_id"], poll=True)
    messages = event_messages(snap, instance_username(call.tenant.id), call.backend.jobs.ssh_ports(snap))
    return [{"message": m} for m in messages[:call.params.get("limit", len(messages))]]


@operation("shareJob", "shareJobV3")
def share_job(call: Call) -> dict[str, Any]:
    snap = call.backend.jobs.snapshot(call.tenant, call.params["job_id"])
    recipient = call.body.get("email") or call.body["account"]
    return call.backend.shares.share_job(call.tenant, snap.id, snap.doc, recipient)
