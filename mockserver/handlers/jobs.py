from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from ..call import Call, Handler, Reply, registrar
from ..domain.errors import NotFound
from ..domain.ids import stable_id
from ..domain.jobs import Snapshot
from ..domain.jobspec import as_bool
from ..domain.sshkeys import instance_username
from ..domain.sweeps import RUN_CASE, RunRow, is_sweep
from ..timefmt import iso
from ..views import (InstanceView, JobContext, JobSummaryView, JobView, RunView, file_views, statuses_page,
                     view_context)

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


def job_context(call: Call) -> JobContext:
    backend = call.backend
    return JobContext(view_context(call), call.op.version, backend.catalogs.for_tenant(call.tenant).core_type,
                      lambda snap: backend.jobs.output_bytes(call.tenant, snap),
                      backend.settings.get(call.tenant, "v2CoreType"))


def job_view(call: Call, snap: Snapshot) -> JobView:
    return JobView(snap, job_context(call))


def _snapshot(call: Call, poll: bool = False) -> Snapshot:
    return call.backend.jobs.snapshot(call.tenant, call.params["job_id"], poll=poll)


@operation("listJobs", "listJobsV3")
def list_jobs(call: Call) -> dict[str, Any]:
    jc = job_context(call)

    def fetch(offset: int, limit: int) -> tuple[int, list[JobSummaryView]]:
        count, snaps = call.backend.jobs.page(call.tenant, offset, limit, call.params.get("state"),
                                              call.params.get("job_status"), call.params.get("ordering"))
        return count, [JobSummaryView(s, jc) for s in snaps]

    return call.page(fetch)


@operation("createJob", "createJobV3")
def create_job(call: Call) -> Reply:
    return Reply(201, job_view(call, call.backend.jobs.create(call.tenant, call.body)))


@operation("getJob", "getJobV3")
def get_job(call: Call) -> JobView:
    return job_view(call, _snapshot(call))


@operation("updateJob")
def update_job(call: Call) -> JobView:
    refuse = call.backend.settings.get(call.tenant, "finishedJobChanges") == "refuse"
    return job_view(call, call.backend.jobs.update(call.tenant, call.params["job_id"], call.body or {}, refuse))


@operation("deleteJob", "deleteJobV3")
def delete_job(call: Call) -> Reply:
    call.backend.jobs.delete(call.tenant, call.params["job_id"], as_bool(call.params.get("deleteInputFiles")))
    return Reply(204)


@operation("submitJob", "submitJobV3")
def submit_job(call: Call) -> Reply:
    refuse = call.backend.settings.get(call.tenant, "finishedJobChanges") == "refuse"
    call.backend.jobs.submit(call.tenant, call.params["job_id"], refuse)
    return Reply(200)


@operation("stopJob", "stopJobV3")
def stop_job(call: Call) -> Reply:
    call.backend.jobs.stop(call.tenant, call.params["job_id"])
    return Reply(202)


@operation("listJobStatuses", "listJobStatusesV3")
def list_job_statuses(call: Call) -> dict[str, Any]:
    snap = _snapshot(call, poll=True)
    return statuses_page(call, snap.statuses(), snap.id, "job_status")


@operation("listJobClusterStatuses")
def list_job_cluster_statuses(call: Call) -> dict[str, Any]:
    snap = _snapshot(call, poll=True)
    return statuses_page(call, snap.cluster_statuses(), snap.cluster_id, "cluster_status")


@operation("listJobFiles", "listJobFilesV3")
def list_job_files(call: Call) -> dict[str, Any]:
    snap = call.backend.jobs.settle(call.tenant, call.params["job_id"])  # a finished job's outputs, written once
    if is_sweep(snap.doc):
        call.backend.jobs.sweeps.settle(call.tenant, snap)  # runs completed so far have their files

    def fetch(offset: int, limit: int) -> tuple[int, list[Any]]:
        count, records = call.backend.files.page(call.tenant, offset, limit, search=call.params.get("search"),
                                                 job_id=snap.id)
        return count, file_views(call, records)

    return call.page(fetch)


def _run(call: Call, snap: Snapshot) -> RunView:
    plan = snap.plan
    assert plan is not None and plan.run_start is not None
    style = call.backend.config.date_style
    done = snap.finished
    count, size = call.backend.jobs.output_totals(call.tenant, snap) if done else (0, None)  # nothing written
    return RunView(
        id="1", type=RUN_CASE, display_order=1, date_started=iso(plan.run_start, "inserted", style),
        date_completed=iso(plan.finished, "inserted", style) if done else None, output_file_count=count,
        output_file_size=size, variables=[],
    )


def _runs(call: Call, snap: Snapshot) -> list[RunView]:
    """One run ("1", a case) exists once the job started executing (S3: runs of Executing or Completed jobs)."""
    return [_run(call, snap)] if snap.run_started else []


def _sweep_run(call: Call, row: RunRow) -> RunView:
    style = call.backend.config.date_style
    return RunView(
        id=str(row.number), type=RUN_CASE, display_order=row.number,
        date_started=None if row.started is None else iso(row.started, "inserted", style),
        date_completed=None if row.completed is None else iso(row.completed, "inserted", style),
        output_file_count=row.file_count, output_file_size=row.file_size, variables=row.variables,
    )


def _one_run(call: Call) -> tuple[Snapshot, RunView]:
    snap = _snapshot(call)
    if is_sweep(snap.doc):
        number = call.params["run_id"]
        if not number.isdigit() or len(number) > 7:
            raise NotFound("run")
        return snap, _sweep_run(call, call.backend.jobs.sweeps.run(snap, int(number)))
    runs = {r.id: r for r in _runs(call, snap)}
    if call.params["run_id"] not in runs:
        raise NotFound("run")
    return snap, runs[call.params["run_id"]]


@operation("listJobRuns", "listJobRunsV3")
def list_job_runs(call: Call) -> dict[str, Any]:
    snap = _snapshot(call)
    max_size = call.backend.config.max_runs_page_size
    if is_sweep(snap.doc):
        sweeps = call.backend.jobs.sweeps

        def fetch(offset: int, limit: int) -> tuple[int, list[RunView]]:
            rows = sweeps.rows(snap, offset + 1, offset + limit)
            return sweeps.count(snap), [_sweep_run(call, row) for row in rows]

        return call.page(fetch, max_size)
    runs = _runs(call, snap)
    return call.page(lambda offset, limit: (len(runs), runs[offset:offset + limit]), max_size)


@operation("getJobRun")
def get_job_run(call: Call) -> RunView:
    return _one_run(call)[1]


@operation("listJobRunFiles", "listJobRunFilesV3")
def list_job_run_files(call: Call) -> dict[str, Any]:
    snap, run = _one_run(call)
    if is_sweep(snap.doc):
        call.backend.jobs.sweeps.settle(call.tenant, snap, only=int(run.id))  # a completed run's files
    elif snap.finished:
        call.backend.jobs.settle(call.tenant, snap.id)  # the job's one run holds its outputs

    def fetch(offset: int, limit: int) -> tuple[int, list[Any]]:
        count, records = call.backend.files.page(call.tenant, offset, limit, job_id=snap.id, run_id=run.id)
        return count, file_views(call, records)

    return call.page(fetch)


@operation("tailJobRunFile")
def tail_job_run_file(call: Call) -> Any:
    """Only while the run is in progress (D16): the live `process_output.log`, or a sweep run's processed template."""
    snap, run = _one_run(call)
    if is_sweep(snap.doc):
        text = call.backend.jobs.run_live_file(snap, int(run.id), call.params["path"].strip("/"))
        if text is None:
            raise NotFound("tail")
    elif snap.finished or call.params["path"].strip("/") != "process_output.log":
        raise NotFound("tail")
    else:
        text = call.backend.jobs.live_log(snap)
    lines = text.splitlines()
    if "lines" in call.params:
        return {"fileType": "ASCII text", "lines": lines[-call.params["lines"]:]}
    return Response(text, status=200, content_type="text/plain; charset=utf-8")


@operation("listJobInstances")
def list_job_instances(call: Call) -> dict[str, Any]:
    snap = _snapshot(call)
    instances = _instances(call, snap) if snap.cluster_running else []
    return call.page(lambda offset, limit: (len(instances), instances[offset:offset + limit]))


def _instances(call: Call, snap: Snapshot) -> list[InstanceView]:
    _, nodes = call.backend.jobs.cores(snap, call.tenant)
    started = next(e.at for _, e in snap.cluster_statuses() if e.status == "Started")
    roles = ["CUSTOM"] if nodes == 1 else ["MPI_MASTER"] + ["MPI_SLAVE"] * (nodes - 1)
    # A real run's instances answer SSH on loopback ports (runner/ssh.py); anything else has nothing to connect to,
    # and says so: no supported service, port 0.
    ports = call.backend.jobs.ssh_ports(snap)
    return [
        InstanceView(
            id=stable_id(snap.cluster_id, "instance", index), cluster_id=snap.cluster_id,
            date_started=iso(started, "inserted", call.backend.config.date_style),
            private_hostname=f"node{index:03d}", private_ip=f"10.0.0.{10 + index}",
            public_hostname=f"{snap.cluster_id.lower()}-{index}.cluster.localhost", role=role,
            ssh_port=ports[index] if index < len(ports) else 0,
            supported_services=["ssh"] if index < len(ports) else [], username=instance_username(call.tenant.id),
        )
        for index, role in enumerate(roles)
    ]
