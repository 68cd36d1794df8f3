"""Parameter sweeps (DOE): one job, one run per row of its parameter file (plus the nominal run), templates filled
per run, runs executed `slots` at a time.

- Created: the CSV and the templates are read and checked once (`prepare`), and kept with the job (table `sweeps`),
  so later reads never parse the files again and a deleted upload does not change the job.
- Running: run times are a pure function of the job's plan (when its run phase began and ended), the run index,
  `slots` and the run length, so a read computes only the runs it shows: run i (0-based) starts at
  `start + (i // slots) * length` and ends `length` later; the job's run phase lasts `ceil(runs / slots)` waves.
  A stop (or the walltime, or a failure) ends the phase: runs then running end with it, later runs never start.
- Outputs: each run's files (`process_output.log`, its processed templates, what the command writes) live under
  `run<N>/`; they are written once, when a read first needs a completed run's files.

Executed sweeps (`--execute`, `runner/sweep_runs.py`): `workspace(job_id, run)` gives a run's variables and
processed files, which the supervisor places in the run's own work directory before its command runs. Such a run's
times are the facts the supervisor recorded (`store/runs.py`, per run), and its files are the ones it listed as the
run ended: nothing here is computed from the schedule or written on a read.
"""
from __future__ import annotations

import csv
import functools
import io
import json
import math
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..store.db import Database, to_json
from ..timefmt import iso
from .errors import InvalidInput, NotFound
from .files import Files
from .lifecycle import Scenario
from .simulate import Program, interpret
from .templates import Template, TemplateError, as_number, parse

if TYPE_CHECKING:
    from .jobs import Snapshot
    from .tenants import Tenant

MAX_PARAM_FILE_BYTES = 32 * 1024 * 1024
MAX_TEMPLATE_BYTES = 4 * 1024 * 1024
MAX_RUNS = 100_000
WRITE_AT_END_MAX = 100  # sweeps of at most this many runs get their files when they finish
RUN_CASE = 3  # Run.type: 1 Optimization, 2 Iteration, 3 Case (reference §4.7)
STOPPED_EXIT = 143


@dataclass(frozen=True)
class Sweep:
    """What a job's runs are made of, as read at creation."""

    names: list[str]
    rows: list[list[str]]  # one per CSV row, then the nominal values when asked
    templates: list[dict[str, Any]]  # {"analysis": index, "path": processedFilename, "text": template}

    @property
    def count(self) -> int:
        return len(self.rows)

    def values(self, run: int) -> dict[str, str]:
        return dict(zip(self.names, self.rows[run - 1]))

    @functools.cached_property
    def parsed(self) -> list[tuple[str, Template]]:
        return [(t["path"], parse(t["text"])) for t in self.templates]

    def processed(self, run: int) -> dict[str, str]:
        values = self.values(run)
        return {path: template.render(values) for path, template in self.parsed}

    def to_json(self) -> str:
        return to_json({"names": self.names, "rows": self.rows, "templates": self.templates})

    @classmethod
    def from_json(cls, text: str) -> "Sweep":
        raw = json.loads(text)
        return cls(raw["names"], raw["rows"], raw["templates"])


@dataclass(frozen=True)
class Schedule:
    """When each run starts and ends, from the job's plan: `slots` runs at a time, each `length` seconds."""

    count: int
    slots: int
    start: float | None  # None: the job never reached its run phase
    length: float
    cut: float  # the end of the job's run phase (inf while it may still run)

    def started(self, index: int) -> float | None:
        if self.start is None:
            return None
        wave = index // self.slots
        if wave == 0:
            return self.start
        at = self.start + wave * self.length
        return at if at <= self.cut else None  # a stop at the very moment a wave starts still sees it start

    def completed(self, index: int) -> float | None:
        began = self.started(index)
        if began is None:
            return None
        return min(self.cut, math.inf if math.isinf(self.length) else began + self.length)

    def was_cut(self, index: int) -> bool:
        began, ended = self.started(index), self.completed(index)
        return began is not None and ended is not None and ended < began + self.length


@dataclass(frozen=True)
class RunRow:
    number: int
    started: float | None
    completed: float | None
    variables: list[dict[str, Any]]
    file_count: int
    file_size: int | None


def waves(doc: dict[str, Any]) -> int:
    """How many run lengths a job's run phase takes: 1 for a basic job."""
    slots = doc["jobanalyses"][0]["hardware"].get("slots") or 1
    return max(1, math.ceil(doc.get("expectedRuns", 1) / slots))


def is_sweep(doc: dict[str, Any]) -> bool:
    return bool(doc.get("paramFile")) or any(ja.get("templateTasks") for ja in doc["jobanalyses"])


class Sweeps:
    def __init__(self, db: Database, files: Files, content: Callable[[str, int, str], Iterable[bytes]],
                 facts: Any = None) -> None:
        self.db, self.files, self.content = db, files, content
        self.facts = facts  # store/runs.py: what the supervisor saw of executed sweeps' runs
        self._settle_lock = threading.Lock()  # one writer of run files at a time
        self._cache_lock = threading.Lock()
        self._cache: dict[str, tuple[str, Sweep]] = {}  # job id -> (token, sweep), a few recent ones

    # -- creation ----------------------------------------------------------------------------------------------
    def prepare(self, doc: dict[str, Any]) -> Sweep | None:
        """Reads the job's parameter file and templates, sets `expectedRuns` (and `jobvariables` from the CSV
        header when the body gave none); InvalidInput for a file that cannot make the sweep."""
        if not is_sweep(doc):
            return None
        doc.setdefault("paramFile", None)  # a job saved before sweeps existed
        names, rows = self._param_rows(doc)
        declared = [v["name"] for v in doc.get("jobvariables") or []]
        if doc["paramFile"] and declared and sorted(declared) != sorted(names):
            raise InvalidInput({"paramFile": [f"The parameter file's header names the variables {names}, which "
                                              f"do not match jobvariables {declared}."]})
        if doc["paramFile"] and not declared:
            doc["jobvariables"] = [{"name": n, "variableType": "Param", "displayOrder": i, "valueGeneratorType": "",
                                    "valueGeneratorSettings": {}} for i, n in enumerate(names)]
        if doc.get("includeNominalRun") and rows:
            rows.append(self._nominal(doc, names, rows[0]))
        templates = self._templates(doc, names, rows)
        doc["expectedRuns"] = max(1, len(rows))
        return Sweep(names, rows or [[]], templates)

    def _read(self, record: dict[str, Any], limit: int, field: str) -> str:
        if record["size"] > limit:
            raise InvalidInput({field: [f"The file is larger than {limit} bytes."]})
        try:
            with self.files.blobs.open(record["blob"]) as source:
                contents = source.read(limit + 1)
        except FileNotFoundError:
            raise InvalidInput({field: [f'The file "{record["name"]}" has no contents any more.']}) from None
        try:
            return contents.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput({field: ["The file is not UTF-8 text."]}) from None

    def _param_rows(self, doc: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
        if not doc["paramFile"]:
            return [], []
        text = self._read(doc["paramFile"], MAX_PARAM_FILE_BYTES, "paramFile")
        try:
            table = [row for row in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in row)]
        except csv.Error as err:
            raise InvalidInput({"paramFile": [f"The parameter file is not valid CSV: {err}."]}) from None
        if len(table) < 2:
            raise InvalidInput({"paramFile": ["The parameter file needs a header row of variable names and at "
                                              "least one row of values."]})
        names = [n.strip() for n in table[0]]
        if not all(names) or len(set(names)) != len(names):
            raise InvalidInput({"paramFile": ["The header row must name each variable once: "
                                              f"{names[:20]}."]})
        if len(table) - 1 > MAX_RUNS:
            raise InvalidInput({"paramFile": [f"At most {MAX_RUNS} runs per job."]})
        rows = []
        for number, row in enumerate(table[1:], start=1):
            if len(row) != len(names):
                raise InvalidInput({"paramFile": [f"Row {number} has {len(row)} values; the header names "
                                                  f"{len(names)} variables."]})
            rows.append([cell.strip() for cell in row])
        return names, rows

    @staticmethod
    def _nominal(doc: dict[str, Any], names: list[str], first: list[str]) -> list[str]:
        """The nominal run's values: a variable's `valueGeneratorSettings.nominal` (or `.value`) when given, else
        the first row's ([U] how Rescale picks nominal values for a CSV sweep is not documented)."""
        settings = {v["name"]: v.get("valueGeneratorSettings") or {} for v in doc["jobvariables"]}
        row = []
        for name, default in zip(names, first):
            given = next((settings.get(name, {}).get(k) for k in ("nominal", "value")
                          if isinstance(settings.get(name, {}).get(k), (int, float, str))), None)
            row.append(default if given is None or isinstance(given, bool) else str(given))
        return row

    def _templates(self, doc: dict[str, Any], names: list[str], rows: list[list[str]]) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        problems: list[dict[str, Any]] = []
        for index, ja in enumerate(doc["jobanalyses"]):
            task_errors: list[dict[str, Any]] = []
            for task in ja.get("templateTasks") or []:
                error = None
                try:
                    text = self._read(task["templateFile"], MAX_TEMPLATE_BYTES, "templateFile")
                    error = self._check(parse(text), names, rows)
                except TemplateError as err:
                    error = f'"{task["templateFile"]["name"]}", {err}'
                except InvalidInput as err:
                    error = err.fields["templateFile"][0]
                task_errors.append({"templateFile": [error]} if error else {})
                if not error:
                    kept.append({"analysis": index, "path": task["processedFilename"], "text": text})
            problems.append({"templateTasks": task_errors} if any(task_errors) else {})
        if any(problems):
            raise InvalidInput({"jobanalyses": problems})
        return kept

    @staticmethod
    def _check(template: Template, names: list[str], rows: list[list[str]]) -> str | None:
        unknown = sorted(template.names - set(names))
        if unknown:
            return f"The template uses {unknown}, which the parameter file does not define (variables: {names})."
        for name in sorted(template.numeric_names()):
            column = names.index(name)
            bad = next((n for n, row in enumerate(rows, start=1) if as_number(row[column]) is None), None)
            if bad is not None:
                return f'The template formats "{name}" as a number, but row {bad} holds "{rows[bad - 1][column][:40]}".'
        return None

    def insert(self, conn: Any, job_id: str, tenant_id: str, sweep: Sweep) -> None:
        conn.execute("INSERT INTO sweeps (job_id, tenant_id, token, definition) VALUES (?, ?, ?, ?)",
                     (job_id, tenant_id, uuid.uuid4().hex, sweep.to_json()))

    def replace(self, conn: Any, job_id: str, tenant_id: str, sweep: Sweep | None) -> None:
        """A saved job's analyses changed (PATCH, in its transaction `conn`): its templates were read again."""
        conn.execute("DELETE FROM sweeps WHERE job_id = ?", (job_id,))
        if sweep is not None:
            self.insert(conn, job_id, tenant_id, sweep)

    # -- reading -----------------------------------------------------------------------------------------------
    def load(self, job_id: str) -> Sweep:
        """The job's sweep, parsed once and cached; the token tells a cached sweep from that of a job deleted
        (or reset away) since, whose id came back (seeded ids repeat)."""
        row = self.db.one("SELECT token FROM sweeps WHERE job_id = ?", (job_id,))
        if row is None:
            raise NotFound("sweep")
        cached = self._cache.get(job_id)
        if cached is not None and cached[0] == row["token"]:
            return cached[1]
        definition = self.db.one("SELECT token, definition FROM sweeps WHERE job_id = ?", (job_id,))
        if definition is None:
            raise NotFound("sweep")
        sweep = Sweep.from_json(definition["definition"])
        with self._cache_lock:
            if len(self._cache) >= 32:
                self._cache.pop(next(iter(self._cache)))
            self._cache[job_id] = (definition["token"], sweep)
        return sweep

    @staticmethod
    def schedule(snap: "Snapshot") -> Schedule:
        doc, state, plan = snap.doc, snap.record.state, snap.plan
        count = doc["expectedRuns"]
        slots = doc["jobanalyses"][0]["hardware"].get("slots") or 1
        if plan is None or plan.run_start is None:
            return Schedule(count, slots, None, math.inf, math.inf)
        scenario = Scenario.from_dict(state.get("scenario"))
        total = scenario.run_seconds if scenario.run_seconds is not None else float(state["runSeconds"])
        length = total / waves(doc) / state.get("pace", 1.0)
        return Schedule(count, slots, plan.run_start, length, plan.run_end)

    def rows(self, snap: "Snapshot", first: int, last: int) -> list[RunRow]:
        """Runs `first`..`last` (1-based, inclusive) as of the snapshot; nothing before the job executes. Pure:
        a completed run's file count and size are those its files have (or will have once written)."""
        if not snap.run_started:
            return []
        if snap.record.state.get("execute"):
            return self._executed_rows(snap, first, last)
        sweep, schedule = self.load(snap.id), self.schedule(snap)
        outputs = RunOutputs(snap, sweep, schedule, self.content)
        out = []
        for number in range(first, min(last, sweep.count) + 1):
            started, completed = schedule.started(number - 1), schedule.completed(number - 1)
            started = started if started is not None and started <= snap.now else None
            completed = completed if completed is not None and completed <= snap.now else None
            count, size = outputs.totals(number) if completed is not None else (0, None)
            out.append(RunRow(number, started, completed, _variables(sweep, number), count, size))
        return out

    def _executed_rows(self, snap: "Snapshot", first: int, last: int) -> list[RunRow]:
        """Runs of a sweep that really runs: times from the supervisor's facts, files as it listed them."""
        sweep, facts = self.load(snap.id), (self.facts.get(snap.id).get("runs") or {})
        numbers = range(first, min(last, sweep.count) + 1)
        totals = {r["run_id"]: (r["n"], r["size"]) for r in self.db.query(
            "SELECT run_id, COUNT(*) AS n, SUM(size) AS size FROM files WHERE job_id = ? GROUP BY run_id", (snap.id,))}
        out = []
        for number in numbers:
            seen = facts.get(str(number)) or {}
            started, completed = seen.get("startedAt"), seen.get("endedAt")
            count, size = totals.get(str(number), (0, None)) if completed is not None else (0, None)
            out.append(RunRow(number, started, completed, _variables(sweep, number), count, size))
        return out

    def executed_running(self, snap: "Snapshot", number: int) -> bool:
        seen = (self.facts.get(snap.id).get("runs") or {}).get(str(number)) or {}
        return seen.get("startedAt") is not None and seen.get("endedAt") is None

    def count(self, snap: "Snapshot") -> int:
        return self.load(snap.id).count if snap.run_started else 0

    def run(self, snap: "Snapshot", number: int) -> RunRow:
        found = self.rows(snap, number, number) if 1 <= number <= MAX_RUNS + 1 else []
        if not found:
            raise NotFound("run")
        return found[0]

    def live_file(self, snap: "Snapshot", number: int, path: str) -> str | None:
        """A running run's `process_output.log` or processed template, None when there is no such live file."""
        index, schedule = number - 1, self.schedule(snap)
        started, completed = schedule.started(index), schedule.completed(index)
        if started is None or started > snap.now or (completed is not None and completed <= snap.now):
            return None
        if path == "process_output.log":
            return RunOutputs(snap, self.load(snap.id), schedule, self.content).log(number, finished=False)
        return self.workspace(snap.id, number)[1].get(path)

    def workspace(self, job_id: str, number: int) -> tuple[dict[str, str], dict[str, str]]:
        """A run's variables and processed files (path -> text): what `--execute` places in its work directory."""
        sweep = self.load(job_id)
        return sweep.values(number), sweep.processed(number)

    # -- outputs -----------------------------------------------------------------------------------------------
    def settle(self, tenant: "Tenant", snap: "Snapshot", only: int | None = None) -> None:
        """Writes the files of the runs completed by now that have none yet (or of run `only`), in one
        transaction. A file per output makes this cost about a millisecond per file: thousands of runs take
        seconds, so it happens when a listing needs them, never when runs are merely listed."""
        if snap.record.state.get("execute"):
            return  # the supervisor listed each run's files as it ended
        schedule = self.schedule(snap)
        if schedule.start is None or schedule.start > snap.now:
            return
        done = self._completed_by(schedule, snap.now)
        wanted = range(1, done + 1) if only is None else [only] if only <= done else []
        if not wanted:
            return
        with self._settle_lock:
            written = {int(run) for run in self._written(snap.id)}
            missing = [n for n in wanted if n not in written]
            if missing:
                outputs = RunOutputs(snap, self.load(snap.id), schedule, self.content)
                self.files.add_run_outputs(tenant, snap.id, outputs.files(missing))

    def settle_at_end(self, tenant: "Tenant", snap: "Snapshot") -> None:
        """When the job finishes: a small sweep's run files are written with it, as a basic job's are; a big one's
        when first listed (job files, or a run's files), so no status read pays for thousands of files."""
        if snap.doc["expectedRuns"] <= WRITE_AT_END_MAX:
            self.settle(tenant, snap)

    def _written(self, job_id: str) -> list[str]:
        return [r["run_id"] for r in self.db.query("SELECT DISTINCT run_id FROM files WHERE job_id = ?", (job_id,))]

    @staticmethod
    def _completed_by(schedule: Schedule, now: float) -> int:
        """How many runs (a prefix, in run order: runs complete wave after wave) have completed by `now`."""
        def done(index: int) -> bool:
            completed = schedule.completed(index)
            return completed is not None and completed <= now
        return _prefix(schedule.count, done)


STAMP = "0000-00-00T00:00:00.000000Z"  # what iso() writes is always this long: sizes need no formatting


class RunOutputs:
    """The files of a sweep's runs: `process_output.log`, the processed templates, what the command writes. The
    parts every run shares are put together once per read."""

    def __init__(self, snap: "Snapshot", sweep: Sweep, schedule: Schedule,
                 content: Callable[[str, int, str], Iterable[bytes]]) -> None:
        self.snap, self.sweep, self.schedule, self.content = snap, sweep, schedule, content
        doc = snap.doc
        self.program: Program = interpret("\n".join(ja["command"] for ja in doc["jobanalyses"]))
        hardware = doc["jobanalyses"][0]["hardware"]
        self.head = (f"Hardware: {hardware['coreType']}, {hardware['coresPerSlot']} cores per slot, "
                     f"{hardware['slots']} slot(s), one run per slot\n")
        inputs = ", ".join(ref["file"]["name"] for ja in doc["jobanalyses"] for ref in ja["inputFiles"])
        processed = ", ".join(path for path, _ in sweep.parsed)
        commands = [f"Executing command: {ja['command'].strip()}" for ja in doc["jobanalyses"]
                    if ja["command"].strip() not in ("", "#", ":", "#none")]
        self.body = "".join(line + "\n" for line in [f"Input files: {inputs or '(none)'}",
                                                      f"Processed templates: {processed or '(none)'}",
                                                      *commands, *self.program.stdout])
        self.post = "".join(f"Executing post-process command: {ja['postProcessScriptCommand']}\n"
                            for ja in doc["jobanalyses"] if ja.get("postProcessScriptCommand"))
        plan = snap.plan
        failed = plan is not None and plan.outcome not in ("succeed", "stopped")
        self.exit_code = (plan.exit_code or 0) if failed and plan is not None else 0

    def log(self, number: int, finished: bool, stamps: tuple[str, str] | None = None) -> str:
        index = number - 1
        started = self.schedule.started(index) or 0.0
        begin, end = stamps or (iso(started), iso(self.schedule.completed(index) or started))
        variables = ", ".join(f"{k}={v}" for k, v in self.sweep.values(number).items()) or "(none)"
        text = (f"[{begin}] Rescale job {self.snap.id}, run {number} of {self.schedule.count}\n{self.head}"
                f"Variables: {variables}\n{self.body}")
        if not finished:
            return text
        if self.schedule.was_cut(index):
            return (text + "Run stopped with the job (SIGTERM sent to the command).\n"
                    f"[{end}] Command exited with status {STOPPED_EXIT}\n")
        return text + f"[{end}] Command exited with status {self.exit_code}\n" + self.post

    def totals(self, number: int) -> tuple[int, int]:
        """(count, bytes) of a completed run's files, without building them."""
        values = self.sweep.values(number)
        size = len(self.log(number, True, (STAMP, STAMP)).encode())
        size += sum(template.size(values) for _, template in self.sweep.parsed)
        size += sum(encoded_size(spec.size, spec.encoding) for spec in self.program.outputs)
        return 1 + len(self.sweep.parsed) + len(self.program.outputs), size

    def files(self, numbers: list[int]) -> Iterator[tuple[str, str, Iterable[bytes], float]]:
        for number in numbers:
            completed = self.schedule.completed(number - 1)
            assert completed is not None
            run = str(number)
            yield run, "process_output.log", [self.log(number, True).encode()], completed
            for path, text in self.sweep.processed(number).items():
                yield run, path, [text.encode()], completed
            for spec in self.program.outputs:
                yield run, spec.relative_path, self.content(f"{self.snap.id}-{run}", spec.size, spec.encoding), completed


def encoded_size(size: int, encoding: str) -> int:
    """Bytes `openssl rand` leaves for `size` random bytes: raw, hex, or base64 in lines of 76 (57 bytes each)."""
    if encoding == "hex":
        return 2 * size
    if encoding == "base64":
        lines, rest = divmod(size, 57)
        return lines * 77 + ((rest + 2) // 3 * 4 + 1 if rest else 0)
    return size


def _prefix(count: int, holds: Callable[[int], bool]) -> int:
    """How many leading indices satisfy `holds`, which is true up to some index and false after it."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if holds(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _variables(sweep: Sweep, number: int) -> list[dict[str, Any]]:
    out = []
    for name, text in zip(sweep.names, sweep.rows[number - 1]):
        value = as_number(text)
        number_value = float(value) if value is not None else None
        out.append({"name": name, "value": number_value if number_value is not None and math.isfinite(number_value)
                    else text, "displayValue": text, "isRelative": False})
    return out
