"""Jobs: saved definitions, submission, stop, deletion, and everything computed from the clock when read —
status histories, the cluster, the run and its live log. Reading writes nothing (but the `poll` clock mode's step);
a finished job's output files are written when they are first shown (`Jobs.settle`, domain/settle.py)."""
from __future__ import annotations

import base64
import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..store.db import Database, from_json, id_taken, to_json
from ..store.runs import RunFacts
from .clock import read_time
from .clusters import Clusters, ClusterSnapshot
from .device_jobs import plan_with_device
from .errors import InvalidInput, NotAllowed, NotFound
from .executed import executed_plan
from .ids import newest_first, stable_id
from .files import FileRecord, Files
from .jobspec import UNKNOWN_CORE_TYPE, JobSpecs, nodes_for, pk_error
from .lifecycle import JOB_TERMINAL, Plan, Scenario, plan, plan_on_cluster, stretch
from .outputs import process_output
from .settle import ClaimLost, check_claim, claim_holder, new_claimer, pauses, renewing, take_claim
from .simulate import Program, interpret
from .sweeps import Sweeps, is_sweep, waves
from .tenants import Tenant, Tenants

JOB_STATUS_FILTER = {
    "PENDING": "Pending", "WAITING_FOR_QUEUE": "Waiting for Queue", "QUEUED": "Queued", "STARTED": "Started",
    "VALIDATED": "Validated", "EXECUTING": "Executing", "COMPLETED": "Completed", "STOPPING": "Stopping",
    "WAITING_FOR_CLUSTER": "Waiting for Cluster", "FORCE_STOP": "Force Stop",
}
# {name}: the job's name, in the store's dialect (Database.json_text)
ORDERINGS = {"dateInserted": "seq ASC", "-dateInserted": "seq DESC", "name": "{name} ASC, seq",
             "-name": "{name} DESC, seq DESC"}


@dataclass
class JobRecord:
    id: str
    tenant_id: str
    doc: dict[str, Any]
    state: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    """A job as of one read: its definition, its plan (None until submitted) and the fake time it was read at."""

    record: JobRecord
    plan: Plan | None
    now: float
    cluster: ClusterSnapshot | None = None  # the persistent cluster the job runs on, if any

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def doc(self) -> dict[str, Any]:
        return self.record.doc

    @property
    def cluster_id(self) -> str:
        return self.record.doc.get("clusterId") or stable_id("cluster", self.record.id)

    def statuses(self) -> list[tuple[str, Any]]:
        """(id, event) newest first."""
        events = self.plan.job_events(self.now) if self.plan else []
        return newest_first(self.id, "status", events)

    def cluster_statuses(self) -> list[tuple[str, Any]]:
        if self.cluster is not None:
            return self.cluster.statuses()
        events = self.plan.cluster_events(self.now) if self.plan else []
        return newest_first(self.id, "cluster-status", events)

    @property
    def status(self) -> Any:
        return self.plan.status(self.now) if self.plan else None

    @property
    def cluster_status(self) -> Any:
        if self.cluster is not None:
            return self.cluster.plan.status(self.cluster.now)
        return self.plan.cluster_status(self.now) if self.plan else None

    @property
    def deletable(self) -> bool:
        """Rescale refuses to delete a job until its cluster is Stopped; a persistent cluster keeps running, so
        there the job itself must have finished."""
        if self.plan is None:
            return True
        if self.cluster is not None:
            return self.finished
        cluster = self.cluster_status
        return cluster is not None and cluster.status == "Stopped"

    @property
    def finished(self) -> bool:
        status = self.status
        return status is not None and status.status in JOB_TERMINAL

    @property
    def cluster_running(self) -> bool:
        status = self.cluster_status
        return status is not None and status.status == "Started"

    @property
    def run_started(self) -> bool:
        return bool(self.plan and self.plan.run_start is not None and self.plan.run_start <= self.now)


class Jobs:
    def __init__(self, db: Database, tenants: Tenants, files: Files, clusters: Clusters,
                 specs_for: Callable[[Tenant], JobSpecs], max_output_bytes: int = 2 << 30) -> None:
        self.db, self.tenants, self.files, self.clusters = db, tenants, files, clusters
        self.max_output_bytes = max_output_bytes  # a job's simulated outputs in all (`openssl rand`)
        self.specs_for = specs_for  # the tenant's catalog and catalog mode
        self.devices: Any = None  # storage devices (domain/devices.py), which attached jobs wait for
        self.alone_since: float | None = None  # set when no other process serves the store (domain/settle.py)
        # Real runs (`serve --execute`): the supervisor (runner/supervisor.py) is set here by the backend; it
        # records what the processes did in `run_facts`, and the plans of executed jobs are computed from those.
        self.run_facts = RunFacts(db)
        self.executor: Any = None
        self.sweeps = Sweeps(db, files, synthetic_content, self.run_facts)  # DOE: runs, templates, per-run outputs

    # -- storage -----------------------------------------------------------------------------------------------
    def _load(self, tenant: Tenant, job_id: str, conn: Any = None) -> JobRecord:
        """The stored job; inside a transaction pass its `conn`, so the read is part of it."""
        sql, args = "SELECT id, tenant_id, doc, state FROM jobs WHERE id = ? AND tenant_id = ?", (job_id, tenant.id)
        row = conn.execute(sql, args).fetchone() if conn is not None else self.db.one(sql, args)
        if row is None:
            raise NotFound("job")
        return JobRecord(row["id"], row["tenant_id"], from_json(row["doc"]), from_json(row["state"]))

    @staticmethod
    def _save_state(conn: Any, record: JobRecord) -> None:
        conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (to_json(record.state), record.id))

    def _find_files(self, tenant: Tenant) -> Callable[[list[str]], dict[str, FileRecord]]:
        return lambda ids: self.files.find(tenant, ids)

    # -- reading -----------------------------------------------------------------------------------------------
    def program(self, record: JobRecord) -> Program:
        """The job's commands played in analysis order (multi-analysis jobs fill one command, "# " the others)."""
        joined = "\n".join(ja["command"] for ja in record.doc["jobanalyses"])
        return interpret(joined)

    def walltime_seconds(self, record: JobRecord) -> float | None:
        hours = record.doc["jobanalyses"][0]["hardware"].get("walltime")
        return None if hours is None else hours * 3600.0

    @staticmethod
    def _scenario(record: JobRecord) -> Scenario:
        """The scenario in force; a command that itself exits non-zero (`exit 3`) fails with that status."""
        scenario = Scenario.from_dict(record.state.get("scenario"))
        exit_code = record.state.get("exitCode") or 0
        if scenario.outcome == "succeed" and exit_code and scenario.exit_code is None:
            return Scenario("fail", exit_code, scenario.reason, scenario.run_seconds)
        return scenario

    def _plan(self, tenant: Tenant, record: JobRecord, cluster: ClusterSnapshot | None) -> Plan | None:
        submitted = record.state.get("submitted")
        if submitted is None:
            return None
        if cluster is not None:
            return self._cluster_schedule(tenant, cluster).get(record.id)
        pace = record.state.get("pace", 1.0)
        if record.state.get("execute"):
            return executed_plan(submitted, pace, self.run_facts.get(record.id), record.state.get("stopAt"))

        def build(start: float) -> Plan:
            life = plan(start, self._scenario(record), float(record.state["runSeconds"]),
                        self.walltime_seconds(record), stretch(start, pace, record.state.get("stopAt")))
            return life.rescaled(start, pace)

        device = record.doc.get("storageDevice")
        if device and self.devices is not None:  # the job waits for its storage device to be Started
            ready, gone = self.devices.available(tenant, device)
            return plan_with_device(submitted, ready, gone, record.state.get("stopAt"), build)
        return build(submitted)

    def _cluster_schedule(self, tenant: Tenant, cluster: ClusterSnapshot) -> dict[str, Plan]:
        """Plans of the jobs queued on a persistent cluster: each starts once the cluster is Started and the job
        before it has finished."""
        free = cluster.plan.started
        plans: dict[str, Plan] = {}
        for entry in cluster.record.state["jobs"]:
            if isinstance(entry, dict):  # a deleted job: only the time it kept the cluster busy remains
                free = None if free is None else max(free, entry["until"])
                continue
            record = self._load(tenant, entry)
            submitted, pace = record.state["submitted"], record.state.get("pace", 1.0)
            if record.state.get("execute"):
                plans[entry] = job_plan = executed_plan(submitted, pace, self.run_facts.get(entry),
                                                        record.state.get("stopAt"), True, cluster.plan.stops)
                if free is not None:
                    free = job_plan.finished if math.isfinite(job_plan.finished) else None
                continue
            job_plan = plan_on_cluster(
                submitted, stretch(submitted, pace, free), stretch(submitted, pace, cluster.plan.stops),
                self._scenario(record), float(record.state["runSeconds"]), self.walltime_seconds(record),
                stretch(submitted, pace, record.state.get("stopAt")),
            ).rescaled(submitted, pace)
            plans[entry] = job_plan
            if free is not None:
                free = job_plan.finished if math.isfinite(job_plan.finished) else None
        return plans

    def snapshot(self, tenant: Tenant, job_id: str, poll: bool = False) -> Snapshot:
        """The job now, computed from the clock; nothing is written. The one exception is the `poll` clock mode,
        where a status read (`poll=True`) moves the job one step: that step is saved (`pollStep`), in a transaction
        of its own so that concurrent reads, in any worker, each count. Outputs: see `settle`."""
        if poll and self.tenants.clock(tenant).mode == "poll":
            with self.db.transaction() as conn:
                record = self._load(tenant, job_id, conn)
                step = record.state.get("pollStep")
                snap = self._snapshot_of(tenant, record, poll=True)
                if record.state.get("pollStep") != step:
                    self._save_state(conn, record)
            return snap
        return self._snapshot_of(tenant, self._load(tenant, job_id))

    def _snapshot_of(self, tenant: Tenant, record: JobRecord, poll: bool = False) -> Snapshot:
        """`poll`: moves `record.state["pollStep"]` (the caller saves it)."""
        cluster_id = record.state.get("persistentCluster")
        cluster = self.clusters.snapshot(tenant, cluster_id) if cluster_id else None
        job_plan = self._plan(tenant, record, cluster)
        now, _moved = read_time(self.tenants.clock(tenant), self.tenants.real_time(), record.state,
                                job_plan.steps() if job_plan else [], poll)
        return Snapshot(record, job_plan, now, cluster)

    def page(self, tenant: Tenant, offset: int, limit: int, state: str | None = None,
             job_status: str | None = None, ordering: str | None = None) -> tuple[int, list[Snapshot]]:
        name = self.db.json_text("doc", "name") + self.db.binary_order
        order = ORDERINGS[ordering or "-dateInserted"].format(name=name)
        if state is None and job_status is None:
            count = self.db.one("SELECT COUNT(*) FROM jobs WHERE tenant_id = ?", (tenant.id,))[0]
            rows = self.db.query(f"SELECT id FROM jobs WHERE tenant_id = ? ORDER BY {order} LIMIT ? OFFSET ?",
                                 (tenant.id, limit, offset))
            return count, [self.snapshot(tenant, r["id"]) for r in rows]
        wanted = JOB_STATUS_FILTER.get(job_status or "")
        matches: list[str | Snapshot] = []
        rows = self.db.query(f"SELECT id, {self.db.json_text('state', 'finalStatus')} AS final FROM jobs "
                             f"WHERE tenant_id = ? ORDER BY {order}", (tenant.id,))
        for row in rows:
            if row["final"] is not None:  # a finished job's status never changes again: no need to compute it
                if _keep(row["final"], True, state, wanted):
                    matches.append(row["id"])
                continue
            snap = self.snapshot(tenant, row["id"])
            if _keep(snap.status.status if snap.status else None, snap.finished, state, wanted):
                matches.append(snap)
        chosen = matches[offset:offset + limit]
        return len(matches), [m if isinstance(m, Snapshot) else self.snapshot(tenant, m) for m in chosen]

    def by_own_cluster(self, tenant: Tenant, cluster_id: str, poll: bool = False) -> Snapshot:
        """The job whose own (non-persistent) cluster has this id; NotFound otherwise."""
        row = self.db.one(f"SELECT id FROM jobs WHERE tenant_id = ? AND {self.db.json_text('state', 'ownCluster')} = ?",
                          (tenant.id, cluster_id))
        if row is None:
            raise NotFound("cluster")
        return self.snapshot(tenant, row["id"], poll=poll)

    def sync_outputs(self, tenant: Tenant) -> None:
        """Finished jobs whose outputs nobody has looked at yet get them now (file listings show them)."""
        rows = self.db.query(
            f"SELECT id FROM jobs WHERE tenant_id = ? AND {self.db.json_text('state', 'submitted')} IS NOT NULL "
            f"AND {self.db.json_text('state', 'outputsWritten')} IS NULL", (tenant.id,))
        for row in rows:
            try:
                self.settle(tenant, row["id"])
            except NotFound:
                pass  # deleted since the query

    def output_totals(self, tenant: Tenant, snap: Snapshot) -> tuple[int, int]:
        """(count, bytes) of a job's output files, as they are or, for a finished job not yet settled, as settling
        will write them: a job list or a run shows the sizes without writing a byte."""
        if snap.finished and self._settles_with_outputs(snap) and not snap.record.state.get("outputsWritten"):
            program = self.program(snap.record)
            log = process_output(snap, program, self.files.blobs, finished=True)
            return 1 + len(program.outputs), len(log.encode()) + sum(s.stored_size for s in program.outputs)
        row = self.db.one("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS size FROM files "
                          "WHERE tenant_id = ? AND job_id = ?", (tenant.id, snap.id))
        return row["n"], row["size"]

    def output_bytes(self, tenant: Tenant, snap: Snapshot) -> int:
        return self.output_totals(tenant, snap)[1]

    # -- changing ----------------------------------------------------------------------------------------------
    def create(self, tenant: Tenant, body: dict[str, Any]) -> Snapshot:
        doc = self.specs_for(tenant).build(body, self._find_files(tenant))
        self._check_outputs(doc)
        sweep = self.sweeps.prepare(doc)
        if doc["clusterId"] is not None:
            try:
                self.clusters.snapshot(tenant, doc["clusterId"])
            except NotFound:
                raise InvalidInput({"clusterId": pk_error(doc["clusterId"])}) from None
        state = {"dateInserted": self.tenants.now(tenant), "submitted": None}
        with self.db.transaction() as conn:
            job_id = self.tenants.ids_for(tenant).fresh(id_taken(conn, "jobs"))
            conn.execute("INSERT INTO jobs (id, tenant_id, doc, state) VALUES (?, ?, ?, ?)",
                         (job_id, tenant.id, to_json(doc), to_json(state)))
            if sweep is not None:
                self.sweeps.insert(conn, job_id, tenant.id, sweep)
        return self.snapshot(tenant, job_id)

    def update(self, tenant: Tenant, job_id: str, body: dict[str, Any], refuse_finished: bool = False) -> Snapshot:
        """PATCH: a finished job keeps everything, answering 200 (the notebook, cell 45) or, when
        `refuse_finished`, 400 (the change the notebook announces)."""
        if refuse_finished and self.snapshot(tenant, job_id).finished:
            raise NotAllowed("A job that has finished cannot be changed.")  # a 400 stores nothing, outputs neither
        snap = self.snapshot(tenant, job_id)
        if snap.finished:
            return snap
        changes = self.specs_for(tenant).changes(body, self._find_files(tenant), snap.plan is None)
        doc = {**snap.record.doc, **changes}
        self._check_outputs(doc)
        sweep = self.sweeps.prepare(doc) if "jobanalyses" in changes else None  # templates read again
        with self.db.transaction() as conn:  # merged into the job as stored now: another worker may have changed it
            record = self._load(tenant, job_id, conn)
            now = self._snapshot_of(tenant, record)
            if now.finished or (now.plan is None) != (snap.plan is None):
                raise NotAllowed("The job was submitted or finished meanwhile; read it again.")
            record.doc.update(changes)
            conn.execute("UPDATE jobs SET doc = ? WHERE id = ?", (to_json(record.doc), record.id))  # a stop stays
            if "jobanalyses" in changes:
                self.sweeps.replace(conn, record.id, tenant.id, sweep)
        return self.snapshot(tenant, job_id)

    def submit(self, tenant: Tenant, job_id: str, refuse_again: bool = False) -> None:
        """Submitting again, or submitting a finished job, changes nothing: 200, or 400 when `refuse_again`. The
        submission is decided inside one transaction, so two workers submitting one job at once submit it once."""
        record = self._load(tenant, job_id)
        if record.state.get("submitted") is None:
            execute = (self.executor is not None and not record.doc.get("storageDevice")
                       and self.executor.wants(tenant, record.doc))
            if execute:
                self.run_facts.open(tenant.id, record.id)  # idempotent; unused unless this submission wins
            changes = self._submission(tenant, record, execute)
        with self.db.transaction() as conn:
            record = self._load(tenant, job_id, conn)
            if record.state.get("submitted") is not None:
                if refuse_again:
                    raise NotAllowed("The job has already been submitted.")
                return
            if record.doc.get("clusterId"):  # queued only if submitted now (a job deleted meanwhile never is)
                self.clusters.enqueue(tenant, record.doc["clusterId"], record.id, conn)
            record.state.update(changes, scenario=record.state.get("scenario") or self.scenario_for(tenant))
            self._save_state(conn, record)
        if record.state.get("execute"):
            self.executor.submitted(tenant, record.id)

    def _submission(self, tenant: Tenant, record: JobRecord, execute: bool) -> dict[str, Any]:
        """What submitting `record` now records in its state."""
        program = self.program(record)
        program.run_seconds *= waves(record.doc)  # a sweep's runs go `slots` at a time, each as long as the command
        changes: dict[str, Any] = dict(
            # "inf" (a string) for `sleep inf`: JSON, and so SQLite, has no infinity
            submitted=self.tenants.now(tenant), runSeconds=str(program.run_seconds) if math.isinf(program.run_seconds)
            else program.run_seconds, exitCode=program.exit_code, pace=self.tenants.clock(tenant).pace,
        )
        if record.doc.get("clusterId"):
            changes["persistentCluster"] = record.doc["clusterId"]
        else:
            changes["ownCluster"] = stable_id("cluster", record.id)  # readable as v3 clusters/{id}/
        # a job on a storage device is simulated (it waits for the device, which no real process could mount)
        if execute:
            changes["execute"] = True  # the command runs for real: decided once, at submission
        return changes

    def stop(self, tenant: Tenant, job_id: str) -> None:
        # read and saved in one transaction: a finished job (which settling may be writing) is never stopped
        with self.db.transaction() as conn:
            snap = self._snapshot_of(tenant, self._load(tenant, job_id, conn))
            if snap.plan is None or snap.finished or snap.record.state.get("stopAt") is not None:
                return  # nothing running: 202 and no effect
            snap.record.state["stopAt"] = snap.now
            self._save_state(conn, snap.record)

    def attach_device(self, tenant: Tenant, job_id: str, device_id: str, copies: list[Any], field: str) -> None:
        """POST jobs/{id}/storage-devices/: the saved job will wait for the device and see it mounted."""
        if self._load(tenant, job_id).state.get("submitted") is not None:
            raise NotAllowed("The job has already been submitted.")
        try:
            self.devices.attach(tenant, device_id, job_id)
        except NotFound:
            raise InvalidInput({field: {"id": pk_error(device_id)}}) from None
        self._change_unsubmitted_doc(tenant, job_id, storageDevice=device_id, storageDeviceCopies=copies)

    def attach(self, tenant: Tenant, cluster_id: str, job_id: str, submit: bool) -> str:
        """POST clusters/{id}/jobs/: run a saved job on a persistent cluster; returns the association id."""
        self.clusters.snapshot(tenant, cluster_id)  # 404 for an unknown cluster
        try:
            record = self._load(tenant, job_id)
        except NotFound:
            raise InvalidInput({"id": pk_error(job_id)}) from None
        if record.state.get("submitted") is not None:
            raise NotAllowed("The job has already been submitted.")
        self._change_unsubmitted_doc(tenant, job_id, clusterId=cluster_id)
        if submit:
            self.submit(tenant, job_id)
        return stable_id("association", cluster_id, job_id)

    def _change_unsubmitted_doc(self, tenant: Tenant, job_id: str, **changes: Any) -> None:
        """Change a saved job's definition, read and written in one transaction (another worker may be submitting
        it, or setting its scenario, meanwhile): only while it is not submitted."""
        with self.db.transaction() as conn:
            record = self._load(tenant, job_id, conn)
            if record.state.get("submitted") is not None:
                raise NotAllowed("The job has already been submitted.")
            record.doc.update(changes)
            conn.execute("UPDATE jobs SET doc = ? WHERE id = ?", (to_json(record.doc), record.id))

    def delete(self, tenant: Tenant, job_id: str, delete_inputs: bool = False) -> None:
        with self.db.transaction() as conn:  # checked and deleted at once: a submission meanwhile is seen
            snap = self._snapshot_of(tenant, self._load(tenant, job_id, conn))
            if not snap.deletable:
                raise NotAllowed("A job can only be deleted once its cluster is Stopped; stop the job and wait.")
            if snap.cluster is not None:
                self.clusters.forget_job(tenant, snap.cluster.id, job_id, snap.plan.finished if snap.plan else 0.0,
                                         conn)
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        self.files.delete_where(tenant.id, job_id=job_id)
        if snap.record.state.get("execute"):
            self.executor.forget(tenant.id, [job_id])
        if delete_inputs:
            for ja in snap.doc["jobanalyses"]:
                for ref in ja["inputFiles"]:
                    try:
                        self.files.delete(tenant, ref["file"]["id"])
                    except NotFound:
                        pass  # already gone: jobs keep a dangling link to deleted inputs

    def _check_outputs(self, doc: dict[str, Any]) -> None:
        """Outputs are written when a finished job's files are first shown, so their size is bounded up front."""
        total = 0
        errors: list[dict[str, Any]] = []
        for ja in doc["jobanalyses"]:
            total += sum(spec.stored_size for spec in interpret(ja["command"]).outputs)
            errors.append({} if total <= self.max_output_bytes or any(errors) else {"command": [
                f"The command's simulated output files ({total} bytes) exceed this server's limit of "
                f"{self.max_output_bytes} bytes per job (rescale-mock serve --max-output-bytes)."]})
        if any(errors):
            raise InvalidInput({"jobanalyses": errors})

    # -- scenarios ---------------------------------------------------------------------------------------------
    @property
    def default_scenario(self) -> dict[str, Any]:
        """Every tenant's scenario unless it set its own (`PUT /_fake/scenario/` without a token), in the store."""
        return self.tenants.server.get("scenario") or {}

    @default_scenario.setter
    def default_scenario(self, scenario: dict[str, Any]) -> None:
        self.tenants.server.set("scenario", scenario)

    def scenario_for(self, tenant: Tenant) -> dict[str, Any]:
        return tenant.settings.get("scenario") or self.default_scenario or {"outcome": "succeed"}

    def set_scenario(self, tenant: Tenant, job_id: str, scenario: dict[str, Any]) -> None:
        with self.db.transaction() as conn:
            snap = self._snapshot_of(tenant, self._load(tenant, job_id, conn))
            if snap.plan is not None and (snap.finished or snap.record.state.get("outputsWritten")):
                raise NotAllowed("The job has finished; its scenario can no longer change.")
            snap.record.state["scenario"] = scenario
            self._save_state(conn, snap.record)

    # -- outputs -----------------------------------------------------------------------------------------------
    def settle(self, tenant: Tenant, job_id: str) -> Snapshot:
        """The job, with its outputs written if it has finished: called where outputs are shown (file listings,
        runs' files, the portal), never by a plain read. Written once across threads and worker processes: the
        first caller claims them in the store, others wait for it (domain/settle.py)."""
        snap = self.snapshot(tenant, job_id)
        if not self._unsettled(snap):
            return snap  # the common case answers without a transaction
        me, waits = new_claimer(), pauses()
        while True:
            with self.db.transaction() as conn:
                record = self._load(tenant, job_id, conn)
                snap = self._snapshot_of(tenant, record)  # as stored now: a stop saved since counts
                if not self._unsettled(snap):
                    return snap
                if claim_holder(record.state, time.time(), self.alone_since) is None:  # nobody's, or died
                    take_claim(record.state, me, time.time())
                    self._save_state(conn, record)
                    break
            time.sleep(next(waits))  # another worker writes them: wait for it, without holding anything
        try:
            self._write_outputs(tenant, snap, me)
        except ClaimLost:
            pass  # the job was deleted meanwhile, or another worker took over: its outputs count, ours are gone
        except BaseException:
            self._release(tenant, job_id, me)  # the next caller tries again at once
            raise
        return self.snapshot(tenant, job_id)

    @staticmethod
    def _unsettled(snap: Snapshot) -> bool:
        return snap.plan is not None and snap.finished and not snap.record.state.get("outputsWritten")

    @staticmethod
    def _settles_with_outputs(snap: Snapshot) -> bool:
        """Settling writes a process_output.log and the command's files (not for a real run's, which its
        supervisor listed, nor a sweep's, whose runs have their own)."""
        ran = snap.plan is not None and snap.plan.run_start is not None
        return ran and not is_sweep(snap.doc) and not snap.record.state.get("execute")

    def _write_outputs(self, tenant: Tenant, snap: Snapshot, me: str) -> None:
        """Files appear when the job finishes (Rescale syncs `work/` at the end). `me` holds the claim."""
        settled: dict[str, Any] = {"outputsWritten": True}
        if snap.plan is not None and snap.plan.finished <= self.tenants.now(tenant):
            # Finished by the tenant's clock, which only moves forward: the status is final. (In the poll mode
            # a job read often runs ahead of that clock, and a switch of mode takes it back.)
            settled["finalStatus"] = snap.status.status

        def record(conn: Any) -> None:
            """Marks the job settled, if the claim is still ours (else ClaimLost, and the transaction rolls back)."""
            try:
                current = self._load(tenant, snap.id, conn)
            except NotFound:
                raise ClaimLost() from None
            check_claim(current.state, me)
            current.state.pop("outputsClaim")
            current.state.update(settled)
            self._save_state(conn, current)

        if self._settles_with_outputs(snap):
            assert snap.plan is not None
            program = self.program(snap.record)
            log = process_output(snap, program, self.files.blobs, finished=True)
            renew = lambda: self._renew(tenant, snap.id, me)  # noqa: E731
            outputs: list[tuple[str, Any]] = [("process_output.log", [log.encode()])]
            outputs += [(spec.relative_path, renewing(synthetic_content(snap.id, spec.size, spec.encoding), renew))
                        for spec in program.outputs]
            # the outputs were uploaded as the job completed; their rows and the job's mark commit together
            self.files.add_outputs(tenant, snap.id, "1", outputs, snap.plan.finished, also=record)
            return
        if snap.plan is not None and snap.plan.run_start is not None and is_sweep(snap.doc):
            self.sweeps.settle_at_end(tenant, snap)  # the runs' files, under run<N>/ (written when listed)
        with self.db.transaction() as conn:
            record(conn)

    def _renew(self, tenant: Tenant, job_id: str, me: str) -> None:
        """Extends the claim's lease while a big output is written; ClaimLost if it is no longer ours."""
        with self.db.transaction() as conn:
            try:
                record = self._load(tenant, job_id, conn)
            except NotFound:
                raise ClaimLost() from None
            check_claim(record.state, me)
            take_claim(record.state, me, time.time())
            self._save_state(conn, record)

    def _release(self, tenant: Tenant, job_id: str, me: str) -> None:
        with self.db.transaction() as conn:
            try:
                record = self._load(tenant, job_id, conn)
                check_claim(record.state, me)
            except (NotFound, ClaimLost):
                return
            record.state.pop("outputsClaim")
            self._save_state(conn, record)

    def live_log(self, snap: Snapshot) -> str:
        if snap.record.state.get("execute"):
            return self.executor.live_log(snap.record.tenant_id, snap.id)
        return process_output(snap, self.program(snap.record), self.files.blobs, finished=False)

    def run_live_file(self, snap: Snapshot, number: int, path: str) -> str | None:
        """A sweep's running run's live file: the real run's log or processed template, or the simulated one's."""
        if not snap.record.state.get("execute"):
            return self.sweeps.live_file(snap, number, path)
        if not self.sweeps.executed_running(snap, number):
            return None
        if path == "process_output.log":
            return self.executor.live_run_log(snap.record.tenant_id, snap.id, number)
        return self.sweeps.workspace(snap.id, number)[1].get(path)

    def ssh_ports(self, snap: Snapshot) -> list[int]:
        """Loopback ports the job's instances answer SSH on: only while a real run's command runs (runner/ssh.py)."""
        if snap.record.state.get("execute") and self.executor is not None:
            return self.executor.ssh_ports(snap.id)
        return []

    def cores(self, snap: Snapshot, tenant: Tenant) -> tuple[dict[str, Any], int]:
        hardware = snap.doc["jobanalyses"][0]["hardware"]
        catalog = self.specs_for(tenant).catalog  # the tenant's own entries
        core_type = catalog.core_type(hardware["coreType"]) or UNKNOWN_CORE_TYPE
        return hardware, nodes_for(hardware, core_type)


def synthetic_content(seed: str, size: int, encoding: str) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes (as `openssl rand` would leave), generated in chunks, never whole."""
    rng = random.Random(seed)
    remaining = size
    while remaining > 0:
        take = min(remaining, 57 * 18396)  # whole base64 lines per chunk, so chunks join seamlessly
        raw = rng.randbytes(take)
        remaining -= take
        if encoding == "base64":
            yield base64.encodebytes(raw)
        elif encoding == "hex":
            yield raw.hex().encode()
        else:
            yield raw


def _keep(status: str | None, finished: bool, state: str | None, wanted: str | None) -> bool:
    if state == "completed" and not finished:
        return False
    if state == "not_completed" and finished:
        return False
    return wanted is None or status == wanted
