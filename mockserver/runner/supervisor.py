"""The supervisor of real runs: one thread that owns the jobs' processes. It starts a job's command once the job
has reached Queued on its tenant's clock and a slot is free, watches for a stop, the walltime or the exit, and
records each of these as a fact (`store/runs.py`); at the exit it lists the outputs and the end in one
transaction. Statuses are never written here: reads compute them from the clock and these facts
(`domain/executed.py`)."""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..domain.errors import NotFound
from ..domain.executed import LOST_REASON
from ..domain.jobspec import UNKNOWN_CORE_TYPE, nodes_for
from ..domain.lifecycle import CLUSTER_STOPPED_REASON, QUEUED, WALLTIME_REASON
from ..domain.sshkeys import instance_username
from ..domain.sweeps import is_sweep
from ..domain.tenants import Tenant
from ..timefmt import iso
from . import sandbox, ssh
from .command import STOP_GRACE, compose, limits
from .sweep_runs import SweepSupervision
from .workdir import InputFile, changed, listing, load_listing, place_inputs, read_chunks, save_listing

log = logging.getLogger("rescale_mock.runner")

TICK = 0.05  # seconds between looks at the running processes
DEFAULT_ANALYSES = ("user_included",)
NOT_ALLOWED_REASON = "A run failed: this server does not run commands (start it with --execute)"


@dataclass
class Run:
    tenant: Tenant
    job_id: str
    process: subprocess.Popen | None = None
    output: IO[bytes] | None = None
    started_clock: float = 0.0
    started_real: float = 0.0
    term_sent: float | None = None
    stop_note: str | None = None
    home: Path | None = None  # set once its folders exist
    sweep: Any = None  # a parameter sweep's runs (sweep_runs.SweepState), once it started


class Runner(SweepSupervision):
    def __init__(self, jobs: Any, clusters: Any, files: Any, tenants: Any, root: Path, mode: str,
                 ssh_keys: Any = None) -> None:
        self.jobs, self.clusters, self.files, self.tenants = jobs, clusters, files, tenants
        self.ssh_keys = ssh_keys  # domain/sshkeys.py: who may SSH into a running job
        self._ssh: ssh.SshGate | None = None  # started with the first real run, when asyncssh is installed
        self.facts = jobs.run_facts
        self.root = root  # <data dir>/execute
        self.allowed = mode != "off"  # "on": every tenant runs commands; "opt-in": tenants that ask (control plane)
        self._started: dict[str, Any] = {"enabled": mode == "on", "analyses": list(DEFAULT_ANALYSES),
                                          "maxParallel": os.cpu_count() or 1}
        self._runs: dict[str, Run] = {}  # job id -> run, in submission order (waiting or running)
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._recover()

    # -- settings (control plane) -------------------------------------------------------------------------------
    @property
    def defaults(self) -> dict[str, Any]:
        """The server-wide settings: the flags', with a control call's changes (in the store)."""
        return {**self._started, **(self.tenants.server.get("execute") or {})}

    def settings(self, tenant: Tenant | None) -> dict[str, Any]:
        own = tenant.settings.get("execute", {}) if tenant is not None else {}
        merged = {**self.defaults, **{k: v for k, v in own.items() if v is not None}}
        return {**merged, "enabled": bool(merged["enabled"]) and self.allowed}

    def configure(self, tenant: Tenant | None, changes: dict[str, Any]) -> None:
        if tenant is None:
            given = {k: v for k, v in changes.items() if v is not None}
            self.tenants.server.modify("execute", lambda old: {**(old or {}), **given})
            return
        self.tenants.modify_settings(tenant, lambda stored: {**stored,
                                                             "execute": {**stored.get("execute", {}), **changes}})

    def status(self, tenant: Tenant | None) -> dict[str, Any]:
        with self._lock:
            runs = [r for r in self._runs.values() if tenant is None or r.tenant.id == tenant.id]
        running = sum(self._busy(r) for r in runs)
        waiting = sum(1 for r in runs if r.process is None and r.sweep is None)
        return {**self.settings(tenant), "allowed": self.allowed, "sandbox": "bubblewrap" if sandbox.bwrap() else "none",
                "running": running, "waiting": waiting}

    # -- what Jobs asks ----------------------------------------------------------------------------------------
    def wants(self, tenant: Tenant, doc: dict[str, Any]) -> bool:
        settings = self.settings(tenant)
        return settings["enabled"] and all(ja["analysis"]["code"] in settings["analyses"] for ja in doc["jobanalyses"])

    def submitted(self, tenant: Tenant, job_id: str) -> None:
        with self._lock:
            self._runs.setdefault(job_id, Run(tenant, job_id))
            self._ensure_thread()
        self._wake.set()

    def live_log(self, tenant_id: str, job_id: str) -> str:
        try:
            log_path = self._job_dir(tenant_id, job_id, create=False) / "process_output.log"
            return log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""

    def forget(self, tenant_id: str, job_ids: list[str] | None = None) -> None:
        """A deleted job, or (`job_ids` None) a reset tenant: its processes killed, its folders removed."""
        with self._lock:
            for run in list(self._runs.values()):
                if run.tenant.id == tenant_id and (job_ids is None or run.job_id in job_ids):
                    self._kill(run)
                    del self._runs[run.job_id]
        folder = self.root / tenant_id
        if job_ids is None:
            shutil.rmtree(folder, ignore_errors=True)
            self.facts.forget_tenant(tenant_id)
            return
        for job_id in job_ids:
            shutil.rmtree(folder / job_id, ignore_errors=True)
        self.facts.forget(job_ids)

    def ssh_ports(self, job_id: str) -> list[int]:
        """The loopback ports a running job's instances answer SSH on (none: it does not run, or no SSH here)."""
        return self._ssh.ports(job_id) if self._ssh is not None else []

    def ssh_available(self) -> str:
        return "asyncssh" if self.allowed and ssh.available() else "unavailable"

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            for run in self._runs.values():
                self._kill(run)  # the next start finds them unfinished and ends them as lost runs
            if self._ssh is not None:
                self._ssh.shutdown()
                self._ssh = None

    # -- the loop ----------------------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        # One long-lived thread starts every process: the kernel's parent-death signal (launch.py) follows the
        # thread that forked, so the thread must outlive its processes.
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="rescale-mock-runner", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closing:
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                try:
                    with self._lock:
                        if run.job_id in self._runs:
                            self._step(run)
                except Exception:  # a broken run must not stop the others
                    log.exception("run of job %s", run.job_id)
            self._wake.wait(TICK if runs else None)
            self._wake.clear()

    def _step(self, run: Run) -> None:
        self.tenants.reload(run.tenant)  # its clock and settings as any process last changed them
        if run.process is None and run.sweep is None and not self._slot_free(run.tenant):
            return  # waits (in Queued) without a look at the store: nothing can start it before a slot frees
        try:
            record = self.jobs._load(run.tenant, run.job_id)
        except NotFound:  # deleted meanwhile
            self._kill(run)
            del self._runs[run.job_id]
            return
        now = self.tenants.now(run.tenant)
        if run.sweep is not None:
            self.watch_sweep(run, record, now)
        elif run.process is None:
            self._maybe_start(run, record, now)
        else:
            self._watch(run, record, now)

    def _maybe_start(self, run: Run, record: Any, now: float) -> None:
        state = record.state
        if not state.get("execute"):  # a crash between recording the run and saving the submission
            self.facts.forget([run.job_id])
            del self._runs[run.job_id]
            return
        if state.get("stopAt") is not None:
            self._drop(run, now)  # stopped while waiting: the plan ends it, nothing ran
            return
        cluster_id = state.get("persistentCluster")
        if cluster_id:
            verdict = self._cluster_ready(run, cluster_id, now)
            if verdict is None:
                self._drop(run, now)  # its cluster stopped first: the plan ends it
            if not verdict:
                return
        else:
            # Queued as its readers see it (in the poll clock mode reads move a job ahead of the clock)
            now = max(now, self.jobs.snapshot(run.tenant, run.job_id).now)
            if now < state["submitted"] + QUEUED / state.get("pace", 1.0):
                return
        try:
            self._start(run, record, now)
        except Exception as error:  # a disk error, say: the job ends as a failed run rather than retrying forever
            log.exception("job %s: could not start", run.job_id)
            self._finish(run, None, f"A run failed: rescale-mock could not start the command ({error})")

    def _drop(self, run: Run, now: float) -> None:
        self.facts.record(run.job_id, {"endedAt": now})  # nothing ran; a restart need not look at it again
        del self._runs[run.job_id]

    def _slot_free(self, tenant: Tenant) -> bool:
        running = [(r, self._busy(r)) for r in self._runs.values()]
        mine = sum(busy for r, busy in running if r.tenant.id == tenant.id)
        return (sum(busy for _, busy in running) < self.defaults["maxParallel"]
                and mine < self.settings(tenant)["maxParallel"])

    def _busy(self, run: Run) -> int:
        """Processes the job runs now: its command's, or its sweep's runs'."""
        return int(run.process is not None) + self.sweep_busy(run)

    def _cluster_ready(self, run: Run, cluster_id: str, now: float) -> bool | None:
        """True: its turn on a Started cluster; False: not yet; None: the cluster stopped before its turn."""
        cluster = self.clusters.snapshot(run.tenant, cluster_id)
        if cluster.plan.stops is not None and cluster.plan.stops <= now:
            return None
        if cluster.plan.started is None or cluster.plan.started > now:
            return False
        for entry in cluster.record.state["jobs"]:
            if entry == run.job_id:
                return True
            if isinstance(entry, str) and not self.jobs.snapshot(run.tenant, entry).finished:
                return False
        return False

    def _start(self, run: Run, record: Any, now: float) -> None:
        if is_sweep(record.doc):
            self.start_sweep(run, record, now)  # many runs, each in its own work directory (sweep_runs.py)
            return
        doc, job_dir = record.doc, self._job_dir(run.tenant.id, run.job_id)
        run.home = self.home_of(run.tenant.id, record)
        work = run.home / "work"
        work.mkdir(parents=True, exist_ok=True)
        hardware = doc["jobanalyses"][0]["hardware"]
        catalog = self.jobs.specs_for(run.tenant).catalog  # the tenant's catalog: its own core types too
        core_type = catalog.core_type(hardware["coreType"]) or UNKNOWN_CORE_TYPE
        if nodes_for(hardware, core_type) > 1:
            (work / "shared").mkdir(exist_ok=True)
        inputs = [InputFile(ref["file"]["name"], ref["file"]["blob"], ref["decompress"])
                  for ja in doc["jobanalyses"] for ref in ja["inputFiles"]]
        notes = place_inputs(work, inputs, self.files.blobs)
        save_listing(job_dir / "before.json", listing(work))
        token = uuid.uuid4().hex
        run.output = open(job_dir / "process_output.log", "ab")  # noqa: SIM115 - open while the process runs
        run.output.write("".join(f"{note}\n" for note in notes).encode())
        run.output.flush()
        extra = {"RESCALE_CORES_PER_SLOT": str(hardware["coresPerSlot"]),
                 "RESCALE_NODES_PER_SLOT": str(nodes_for(hardware, core_type))}
        for ja in doc["jobanalyses"]:
            extra.update({str(k): str(v) for k, v in (ja.get("envVars") or {}).items()})
        shim = sandbox.shims(self.root / "bin")
        env, bounds = sandbox.environment(run.home, token, shim, extra), limits(hardware, core_type)
        # SSH listens before the job can read Executing (startedAt), so a client that saw Executing can connect
        self._open_ssh(run, ssh.Target(run.tenant.id, run.job_id, instance_username(run.tenant.id), run.home, env,
                                       bounds, shim), nodes_for(hardware, core_type))
        self.facts.record(run.job_id, {"startedAt": now, "token": token})  # before the fork: a crash finds it
        run.started_clock, run.started_real = now, time.time()
        try:
            run.process = subprocess.Popen(
                sandbox.argv(run.home, work, compose(doc), bounds, shim), cwd=work,
                env=env, stdin=subprocess.DEVNULL, stdout=run.output,
                stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as error:
            run.output.write(f"rescale-mock could not start the command: {error}\n".encode())
            self._finish(run, 127)
            return
        log.info("job %s: started process %s%s", run.job_id, run.process.pid,
                 " in a bubblewrap sandbox" if sandbox.bwrap() else "")

    def _open_ssh(self, run: Run, target: ssh.Target, nodes: int) -> None:
        """Before the process starts (and so before the job reads Executing): its instances answer SSH."""
        if not ssh.available():
            assert run.output is not None
            run.output.write(f"rescale-mock: {ssh.MISSING}.\n".encode())
            run.output.flush()  # before the command's own output, which goes straight to the file
            log.warning("job %s: no SSH: %s", run.job_id, ssh.MISSING)
            return
        try:
            if self._ssh is None:
                accepted = self.ssh_keys.accepted if self.ssh_keys is not None else lambda tenant_id: []
                self._ssh = ssh.SshGate(self.root / "ssh_host_ed25519_key", accepted)
            ports = self._ssh.open(target, nodes)
        except Exception as error:  # SSH is a side door: the job runs without it
            log.exception("job %s: could not open SSH", run.job_id)
            assert run.output is not None
            run.output.write(f"rescale-mock: SSH into this job is unavailable ({error}).\n".encode())
            run.output.flush()
            return
        log.info("job %s: SSH on 127.0.0.1 port(s) %s for %s", run.job_id, ", ".join(map(str, ports)),
                 target.username)

    def _close_ssh(self, run: Run) -> None:
        if self._ssh is not None:
            try:
                self._ssh.close(run.job_id)
            except Exception:  # noqa: BLE001 - the job's end must still be recorded
                log.exception("job %s: could not close SSH", run.job_id)

    def _watch(self, run: Run, record: Any, now: float) -> None:
        assert run.process is not None
        code = run.process.poll()
        if code is not None:
            self._finish(run, code if code >= 0 else 128 - code)
            return
        if run.term_sent is None:
            reason = self._kill_reason(run, record, now)
            if reason is not None:
                if reason != "user":
                    self.facts.record(run.job_id, {"killAt": now, "killReason": reason})
                run.stop_note = {"user": "Job stopped by the user", WALLTIME_REASON: "Job exceeded its walltime",
                                 CLUSTER_STOPPED_REASON: "The cluster was stopped"}[reason]
                run.term_sent = time.time()
                self._close_ssh(run)  # the port closes once the job is stopped
                sandbox.terminate(run.process.pid)
        elif time.time() - run.term_sent >= STOP_GRACE:
            sandbox.kill(run.process.pid)

    def _kill_reason(self, run: Run, record: Any, now: float) -> str | None:
        if record.state.get("stopAt") is not None:
            return "user"
        hours = record.doc["jobanalyses"][0]["hardware"].get("walltime")
        if hours is not None:
            ran = max(now - run.started_clock, time.time() - run.started_real)
            if ran >= hours * 3600.0:
                return WALLTIME_REASON
        cluster_id = record.state.get("persistentCluster")
        if cluster_id:
            stops = self.clusters.snapshot(run.tenant, cluster_id).plan.stops
            if stops is not None and stops <= now:
                return CLUSTER_STOPPED_REASON
        return None

    def _finish(self, run: Run, exit_code: int | None, lost: str | None = None) -> None:
        """List the outputs and record the end, together: a file listing shows all of them or none."""
        self._close_ssh(run)  # before the outputs are listed: no session writes after the listing
        if run.process is not None:
            sandbox.kill(run.process.pid)  # whatever the command left running in its group
        job_dir = self._job_dir(run.tenant.id, run.job_id)
        now = self.tenants.now(run.tenant)
        trailer = [f"{run.stop_note} (SIGTERM sent to the command)."] if run.stop_note else []
        if lost:
            trailer.append("rescale-mock was restarted while the command ran; its process was lost.")
        if exit_code is not None:
            trailer.append(f"[{iso(now)}] Command exited with status {exit_code}")
        # Rescale's log ends two lines after the command's output (the notebook's cell 80 reads its checksum line
        # at lines[-3]); the second is this one.
        trailer.append(f"[{iso(now)}] Uploading the output files of {work_name(run)}")
        output = run.output or open(job_dir / "process_output.log", "ab")  # noqa: SIM115
        output.write("".join(f"{line}\n" for line in trailer).encode())
        output.close()
        run.output = None
        outputs = [("process_output.log", self.files.blobs.write(read_chunks(job_dir / "process_output.log")))]
        work = run.home / "work" if run.home is not None else None
        if work is not None and work.is_dir():
            for rel in changed(load_listing(job_dir / "before.json"), listing(work)):
                try:
                    outputs.append((rel, self.files.blobs.write(read_chunks(work / rel))))
                except OSError:
                    continue  # removed while we looked
        facts = {"endedAt": now, "exitCode": exit_code, "lost": lost}
        self.files.add_stored_outputs(run.tenant, run.job_id, "1", outputs, now,
                                      lambda conn: self.facts.record(run.job_id, facts, conn))
        self._runs.pop(run.job_id, None)
        log.info("job %s: ended (exit status %s%s)", run.job_id, exit_code, f", {lost}" if lost else "")

    def _kill(self, run: Run) -> None:
        self._close_ssh(run)
        if run.sweep is not None:
            self.kill_sweep(run)
        if run.process is not None and run.process.poll() is None:
            sandbox.kill(run.process.pid)
            run.process.wait(timeout=10)
        if run.output is not None:
            run.output.close()
            run.output = None

    def home_of(self, tenant_id: str, record: Any) -> Path:
        """The job's `$HOME` (its `work/` inside): the job's own, or its persistent cluster's, shared by the
        cluster's jobs. (Where an SSH session into the job or cluster would start: issue 19.)"""
        cluster_id = record.state.get("persistentCluster")
        if cluster_id:
            return self.root / tenant_id / f"cluster_{cluster_id}" / "home"
        return self.root / tenant_id / record.id / "home"

    def _job_dir(self, tenant_id: str, job_id: str, create: bool = True) -> Path:
        folder = self.root / tenant_id / job_id
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    # -- after a restart ---------------------------------------------------------------------------------------
    def _recover(self) -> None:
        """Runs that were going when the server stopped: their processes are gone (or killed now), so they end
        as failed runs with what they wrote listed; runs still waiting for a slot wait on."""
        unfinished = self.facts.unfinished()
        if not unfinished:
            return
        tenants = {t.id: t for t in self.tenants.all()}
        for tenant_id, job_id, facts in unfinished:
            tenant = tenants.get(tenant_id)
            if tenant is None:
                self.facts.forget([job_id])
                continue
            run = Run(tenant, job_id)
            if facts.get("startedAt") is None and self.allowed:
                self.submitted(tenant, job_id)
                continue
            if facts.get("token"):
                sandbox.kill_leftovers(facts["token"])
            try:
                record = self.jobs._load(tenant, job_id)
            except NotFound:
                self.facts.forget([job_id])
                continue
            run.home = self.home_of(tenant_id, record)
            if is_sweep(record.doc) and facts.get("startedAt") is not None:
                self._lose_sweep(tenant, run.home, job_id, facts)
                continue
            self._finish(run, None, LOST_REASON if facts.get("startedAt") is not None else NOT_ALLOWED_REASON)


def work_name(run: Run) -> str:
    return "the cluster's work directory" if run.home is not None and run.home.parent.name.startswith("cluster_") \
        else "the work directory"
