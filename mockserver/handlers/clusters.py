from __future__ import annotations

from typing import Any

from ..dispatch import Call, Reply
from ..domain.clusters import ClusterSnapshot
from ..domain.jobspec import as_bool
from ..timefmt import iso
from .jobs import statuses_page
from .registry import operation


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


@operation("getCluster")
def get_cluster(call: Call) -> dict[str, Any]:
    return cluster_view(call, call.backend.clusters.snapshot(call.tenant, call.params["cluster_id"]))


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
    snap = call.backend.clusters.snapshot(call.tenant, call.params["cluster_id"], poll=True)
    return statuses_page(call, snap.statuses(), snap.id, "cluster_status")


@operation("submitJobToCluster", "submitJobToClusterUnversioned")
def submit_job_to_cluster(call: Call) -> Reply:
    association = call.backend.jobs.attach(call.tenant, call.params["cluster_id"], call.body["id"],
                                           as_bool(call.body.get("submit"), False))
    return Reply(201, {"id": association})
