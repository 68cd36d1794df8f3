from __future__ import annotations

from typing import Any

from ..call import Call, Handler, Reply, registrar
from ..domain.clusters import ClusterSnapshot
from ..domain.errors import NotFound
from ..domain.jobspec import as_bool
from ..views import ClusterView, JobClusterView, statuses_page, view_context

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


def cluster_view(call: Call, snap: ClusterSnapshot) -> ClusterView:
    return ClusterView(snap, view_context(call))


@operation("createCluster")
def create_cluster(call: Call) -> Reply:
    return Reply(201, cluster_view(call, call.backend.clusters.create(call.tenant, call.body)))


@operation("listClusters")
def list_clusters(call: Call) -> dict[str, Any]:
    def fetch(offset: int, limit: int) -> tuple[int, list[ClusterView]]:
        count, snaps = call.backend.clusters.page(call.tenant, offset, limit)
        return count, [cluster_view(call, s) for s in snaps]

    return call.page(fetch)


@operation("getCluster")
def get_cluster(call: Call) -> ClusterView | JobClusterView:
    try:
        return cluster_view(call, call.backend.clusters.snapshot(call.tenant, call.params["cluster_id"]))
    except NotFound:  # a job's own cluster (python-sdk: jobs/{id}/clusters/ then clusters/{id}/)
        return JobClusterView(call.backend.jobs.by_own_cluster(call.tenant, call.params["cluster_id"]), view_context(call))


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
