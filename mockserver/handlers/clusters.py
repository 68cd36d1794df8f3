from __future__ import annotations

from typing import Any

from ..call import Call, Handler, Reply, registrar
from ..domain.clusters import ClusterSnapshot
from ..domain.errors import NotFound
from ..domain.jobs import Snapshot
from ..domain.jobspec import as_bool
from ..timefmt import iso
from ..views import statuses_page

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


def cluster_view(call: Call, snap: ClusterSnapshot) -> dict[str, Any]:
    doc = snap.record.doc
    return {
        "id": snap.id, "name": doc["name"], "owner": call.tenant.email,
        "dateInserted": iso(snap.record.state["created"], "inserted", call.backend.config.date_style),
        "hardware": {**doc["hardware"], "coreType": {"code": doc["hardware"]["coreType"]}},
        "installedAnalyses": doc["installedAnalyses"], "runLowPriority": doc["runLowPriority"],
        "status": snap.status,
    }


@operation("createCluster")
def create_cluster(call: Call) -> Reply:
    return Reply(201, cluster_view(call, call.backend.clusters.create(call.tenant, call.body)))


@operation("listClusters")
def list_clusters(call: Call) -> dict[str, Any]:
    def fetch(offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        count, snaps = call.backend.clusters.page(call.tenant, offset, limit)
        return count, [cluster_view(call, s) for s in snaps]

    return call.page(fetch)


def job_cluster_view(call: Call, snap: Snapshot) -> dict[str, Any]:
    """A job's own cluster as v3 `clusters/{id}/` shows it: named after the job, with the job's hardware."""
    hardware = snap.doc["jobanalyses"][0]["hardware"]
    events = snap.cluster_statuses()
    started = snap.record.state.get("submitted") or snap.record.state["dateInserted"]
    return {
        "id": snap.cluster_id, "name": snap.doc["name"], "owner": call.tenant.email,
        "dateInserted": iso(started, "inserted", call.backend.config.date_style),
        "hardware": {**hardware, "coreType": {"code": hardware["coreType"]}},
        "installedAnalyses": [{"analysis": {"code": ja["analysis"]["code"], "version": ja["analysis"]["version"]}}
                              for ja in snap.doc["jobanalyses"]],
        "runLowPriority": snap.doc["isLowPriority"],
        "status": events[0][1].status if events else "Not Started",
    }


@operation("getCluster")
def get_cluster(call: Call) -> dict[str, Any]:
    try:
        return cluster_view(call, call.backend.clusters.snapshot(call.tenant, call.params["cluster_id"]))
    except NotFound:  # a job's own cluster (python-sdk: jobs/{id}/clusters/ then clusters/{id}/)
        return job_cluster_view(call, call.backend.jobs.by_own_cluster(call.tenant, call.params["cluster_id"]))


@operation("startCluster")
def start_cluster(call: Call) -> Reply:
    call.backend.clusters.start(call.tenant, call.params["cluster_id"])
    return Reply(204)


@operation("stopCluster")
def stop_cluster(call: Call) -> Reply:
    call.backend.clusters.stop(call.tenant, call.params["cluster_id"])
    return Reply(202)


@operation("listClusterStatuses")
def list_cluster_statuses(call: Call) -> dict[str, Any]:
    try:
        snap = call.backend.clusters.snapshot(call.tenant, call.params["cluster_id"], poll=True)
    except NotFound:
        job = call.backend.jobs.by_own_cluster(call.tenant, call.params["cluster_id"], poll=True)
        return statuses_page(call, job.cluster_statuses(), job.cluster_id, "cluster_status")
    return statuses_page(call, snap.statuses(), snap.id, "cluster_status")


@operation("submitJobToCluster", "submitJobToClusterUnversioned")
def submit_job_to_cluster(call: Call) -> Reply:
    association = call.backend.jobs.attach(call.tenant, call.params["cluster_id"], call.body["id"],
                                           as_bool(call.body.get("submit"), False))
    return Reply(201, {"id": association})
