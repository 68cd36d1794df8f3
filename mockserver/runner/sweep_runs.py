"""Real runs of a parameter sweep (DOE) under `--execute`: the supervisor's part for a job with many runs.

Each run gets its own home (`<job home>/run<N>/`, `work/` inside) with the job's inputs, its pre/post-process
scripts and its processed templates (`Sweeps.workspace`) in place, and runs the composed command (the command, then
the post-process command) there. At most `slots` runs of a job go at a time, within the runner's parallel limits.
Facts are recorded per run (`runs.<N>.startedAt/endedAt/exitCode`, merged into the job's facts) and, for the job,
`startedAt` when the first run starts and `endedAt`/`exitCode` once every started run has ended (the first non-zero
exit in run order, else 0). A stop (or the walltime) ends the running runs (SIGTERM, then SIGKILL) and no run starts
after it. Each run's outputs (its log, processed templates, what it wrote) are listed under `run<N>/` as it ends,
in one transaction with its end."""
from __future__ import annotations

import logging
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..domain.jobspec import UNKNOWN_CORE_TYPE, nodes_for
from ..domain.lifecycle import WALLTIME_REASON
from ..timefmt import iso
from . import sandbox
from .command import STOP_GRACE, compose, limits
from .workdir import InputFile, changed, listing, load_listing, place_inputs, read_chunks, save_listing

log = logging.getLogger("rescale_mock.runner")


@dataclass
class Child:
    """One run of a sweep while its process runs."""

    number: int
    process: subprocess.Popen
    output: IO[bytes]
    work: Path


@dataclass
class SweepState:
    count: int
    slots: int
    next_run: int = 1
    children: dict[int, Child] = field(default_factory=dict)
    exits: dict[int, int | None] = field(default_factory=dict)
    term_sent: float | None = None
    stop_note: str | None = None


def run_dir(job_dir: Path, number: int) -> Path:
    return job_dir / f"run{number}"


def inside(work: Path, relative: str) -> Path | None:
    """`relative` under `work`, or None for a path that would leave it."""
    target = (work / relative).resolve()
    return target if target.is_relative_to(work.resolve()) and target != work.resolve() else None


class SweepSupervision:
    """Mixed into the Runner (runner/supervisor.py), whose lock is held on every call here."""

    def sweep_busy(self, run: Any) -> int:
        return len(run.sweep.children) if run.sweep is not None else 0

    def start_sweep(self, run: Any, record: Any, now: float) -> None:
        doc = record.doc
        run.home = self.home_of(run.tenant.id, record)
        run.sweep = SweepState(count=int(doc["expectedRuns"]),
                               slots=int(doc["jobanalyses"][0]["hardware"].get("slots") or 1))
        self.facts.record(run.job_id, {"startedAt": now})
        run.started_clock, run.started_real = now, time.time()
        self.watch_sweep(run, record, now)

    def watch_sweep(self, run: Any, record: Any, now: float) -> None:
        state: SweepState = run.sweep
        for child in list(state.children.values()):
            code = child.process.poll()
            if code is not None:
                self._end_child(run, child, code if code >= 0 else 128 - code)
        if state.term_sent is None:
            reason = self._kill_reason(run, record, now)
            if reason is not None:
                if reason != "user":
                    self.facts.record(run.job_id, {"killAt": now, "killReason": reason})
                state.stop_note = {"user": "Job stopped by the user",
                                   WALLTIME_REASON: "Job exceeded its walltime"}.get(reason, "The cluster was stopped")
                state.term_sent = time.time()
                for child in state.children.values():
                    sandbox.terminate(child.process.pid)
        elif time.time() - state.term_sent >= STOP_GRACE:
            for child in state.children.values():
                sandbox.kill(child.process.pid)
        while (state.term_sent is None and state.next_run <= state.count and len(state.children) < state.slots
               and self._slot_free(run.tenant)):
            number = state.next_run
            state.next_run += 1
            self._start_child(run, record, number, self.tenants.now(run.tenant))
        if not state.children and (state.term_sent is not None or state.next_run > state.count):
            self._end_sweep(run)

    def _start_child(self, run: Any, record: Any, number: int, now: float) -> None:
        doc, state = record.doc, run.sweep
        folder = run_dir(self._job_dir(run.tenant.id, run.job_id), number)
        folder.mkdir(parents=True, exist_ok=True)
        home = run.home / f"run{number}"
        work = home / "work"
        work.mkdir(parents=True, exist_ok=True)
        hardware = doc["jobanalyses"][0]["hardware"]
        core_type = self.jobs.specs_for(run.tenant).catalog.core_type(hardware["coreType"]) or UNKNOWN_CORE_TYPE
        inputs = [InputFile(ref["file"]["name"], ref["file"]["blob"], ref["decompress"])
                  for ja in doc["jobanalyses"] for ref in ja["inputFiles"]]
        inputs += [InputFile(ja[key]["name"], ja[key]["blob"], False)
                   for ja in doc["jobanalyses"] for key in ("preProcessScript", "postProcessScript") if ja.get(key)]
        notes = place_inputs(work, inputs, self.files.blobs)
        save_listing(folder / "before.json", listing(work))  # processed templates are taken after: outputs too
        variables, processed = self.jobs.sweeps.workspace(run.job_id, number)
        for relative, text in processed.items():
            target = inside(work, relative)
            if target is None:
                notes.append(f"Processed template {relative} would leave the work directory; skipped.")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, "utf-8")
        output = open(folder / "process_output.log", "ab")  # noqa: SIM115 - open while the process runs
        output.write("".join(f"{note}\n" for note in notes).encode())
        output.flush()
        extra = {"RESCALE_CORES_PER_SLOT": str(hardware["coresPerSlot"]),
                 "RESCALE_NODES_PER_SLOT": str(nodes_for(hardware, core_type)), "RESCALE_RUN_NUMBER": str(number)}
        for ja in doc["jobanalyses"]:
            extra.update({str(k): str(v) for k, v in (ja.get("envVars") or {}).items()})
        token = uuid.uuid4().hex
        shim = sandbox.shims(self.root / "bin")
        env, bounds = sandbox.environment(home, token, shim, extra), run_limits(hardware, core_type)
        self.facts.record(run.job_id, {"runs": {str(number): {"startedAt": now, "token": token}}})
        try:
            process = subprocess.Popen(sandbox.argv(home, work, compose(doc), bounds, shim), cwd=work, env=env,
                                       stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        except OSError as error:
            output.write(f"rescale-mock could not start the command: {error}\n".encode())
            state.children[number] = Child(number, _Exited(127), output, work)  # type: ignore[arg-type]
            return
        state.children[number] = Child(number, process, output, work)
        log.info("job %s run %s: started process %s", run.job_id, number, process.pid)

    def _end_child(self, run: Any, child: Child, exit_code: int) -> None:
        state: SweepState = run.sweep
        if isinstance(child.process, subprocess.Popen):
            sandbox.kill(child.process.pid)  # whatever the command left running in its group
        now = self.tenants.now(run.tenant)
        trailer = [f"{state.stop_note} (SIGTERM sent to the command)."] if state.stop_note else []
        trailer.append(f"[{iso(now)}] Command exited with status {exit_code}")
        child.output.close()
        self._store_run(run.tenant, run.job_id, child.number, child.work, trailer, {"exitCode": exit_code}, now)
        state.exits[child.number] = exit_code
        del state.children[child.number]
        log.info("job %s run %s: ended (exit status %s)", run.job_id, child.number, exit_code)

    def _store_run(self, tenant: Any, job_id: str, number: int, work: Path, trailer: list[str],
                   facts: dict[str, Any], now: float) -> None:
        """A run's end: the log's last lines, then its outputs listed under run<N>/ with its end, together."""
        folder = run_dir(self._job_dir(tenant.id, job_id), number)
        trailer = [*trailer, f"[{iso(now)}] Uploading the output files of the work directory"]
        with open(folder / "process_output.log", "ab") as output:
            output.write("".join(f"{line}\n" for line in trailer).encode())
        outputs = [("process_output.log", self.files.blobs.write(read_chunks(folder / "process_output.log")))]
        if work.is_dir():
            for rel in changed(load_listing(folder / "before.json"), listing(work)):
                try:
                    outputs.append((rel, self.files.blobs.write(read_chunks(work / rel))))
                except OSError:
                    continue  # removed while we looked
        ended = {"runs": {str(number): {"endedAt": now, **facts}}}
        self.files.add_stored_outputs(tenant, job_id, str(number), outputs, now,
                                      lambda conn: self.facts.record(job_id, ended, conn))

    def _end_sweep(self, run: Any) -> None:
        state: SweepState = run.sweep
        failed = [state.exits[n] for n in sorted(state.exits) if state.exits[n] != 0]
        self.facts.record(run.job_id, {"endedAt": self.tenants.now(run.tenant), "exitCode": failed[0] if failed else 0})
        self._runs.pop(run.job_id, None)
        log.info("job %s: sweep ended (%s runs ran, %s failed)", run.job_id, len(state.exits), len(failed))

    def kill_sweep(self, run: Any) -> None:
        for child in run.sweep.children.values():
            if isinstance(child.process, subprocess.Popen) and child.process.poll() is None:
                sandbox.kill(child.process.pid)
                child.process.wait(timeout=10)
            child.output.close()
        run.sweep.children.clear()

    def _lose_sweep(self, tenant: Any, home: Path, job_id: str, facts: dict[str, Any]) -> None:
        """After a restart: the runs that were going are lost (their leftovers killed, what they wrote listed); the
        job ends with them, as a failed run."""
        from ..domain.executed import LOST_REASON
        now = self.tenants.now(tenant)
        for number, run_facts in (facts.get("runs") or {}).items():
            if run_facts.get("endedAt") is None:
                if run_facts.get("token"):
                    sandbox.kill_leftovers(run_facts["token"])
                note = "rescale-mock was restarted while the command ran; its process was lost."
                self._store_run(tenant, job_id, int(number), home / f"run{number}" / "work", [note], {}, now)
        self.facts.record(job_id, {"endedAt": now, "lost": LOST_REASON})

    def live_run_log(self, tenant_id: str, job_id: str, number: int) -> str:
        try:
            path = run_dir(self._job_dir(tenant_id, job_id, create=False), number) / "process_output.log"
            return path.read_text("utf-8", errors="replace")
        except OSError:
            return ""


class _Exited:
    """A process that could not start: it has 'exited' with this status."""

    def __init__(self, code: int) -> None:
        self.code, self.pid = code, 0

    def poll(self) -> int:
        return self.code


def run_limits(hardware: dict[str, Any], core_type: dict[str, Any]) -> dict[str, int]:
    """A run uses one slot: the limits of a one-slot job."""
    return limits({**hardware, "slots": 1}, core_type)
