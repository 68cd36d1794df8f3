"""Shared parts of the benchmarks: sizes, a served fake, server memory from /proc, the results table and JSON."""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from rescale_mock.config import DEMO_KEY
from rescale_mock.testing import ServedProcess

MiB = 1 << 20
GiB = 1 << 30
FULL_SIZE = 1 * GiB
QUICK_SIZE = 128 * MiB
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# -- settings ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    quick: bool
    size: int  # bytes of the file the transfer benchmarks move
    rounds: int  # side-by-side repetitions; medians are reported
    database: str | None = None  # a PostgreSQL URL: the engine benchmarks run on it too, beside SQLite

    @classmethod
    def make(cls, quick: bool, rounds: int | None = None, size_mib: int | None = None,
             database: str | None = None) -> "Settings":
        size = size_mib * MiB if size_mib else (QUICK_SIZE if quick else FULL_SIZE)
        return cls(quick=quick, size=size, rounds=rounds or 3, database=database)

    def engines(self) -> list["Engine"]:
        """The storage engines to measure: SQLite always, PostgreSQL when a URL was given (`--database`)."""
        return [SQLITE] + ([Engine("postgresql", ("--database", self.database), {"database": self.database})]
                           if self.database else [])


def public(settings: Settings) -> dict[str, Any]:
    """The settings as written to results: a database URL without its password."""
    from urllib.parse import urlsplit

    values = asdict(settings)
    if settings.database:
        parts = urlsplit(settings.database)
        if parts.password:
            values["database"] = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return values


@dataclass(frozen=True)
class Engine:
    """A storage engine as the benchmarks start it: `serve` arguments, and the same as Config fields in-process."""
    name: str
    serve_args: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)


SQLITE = Engine("sqlite")


def log(message: str) -> None:
    """Progress goes to stderr so stdout is only the results."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- server memory ----------------------------------------------------------------------------------------------
def _status_field(pid: int, name: str) -> int | None:
    """A `kB` field of /proc/<pid>/status in bytes (Linux only; None elsewhere or when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def peak_rss(pid: int) -> int | None:
    """VmHWM: the process's resident set high-water mark since start (or since the last `reset_peak_rss`)."""
    return _status_field(pid, "VmHWM")


def current_rss(pid: int) -> int | None:
    return _status_field(pid, "VmRSS")


def reset_peak_rss(pid: int) -> bool:
    """Writing 5 to /proc/<pid>/clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so a phase's peak can
    be measured on its own. Returns False where that is not allowed; peaks are then cumulative."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return found


def server_pid(root: int) -> int:
    """The process that actually runs the server: ServedProcess starts `python -m rescale_mock.cli serve` directly,
    but look through descendants in case a wrapper (a venv shim, `coverage run`) sits in between."""
    pending = [root]
    while pending:
        pid = pending.pop(0)
        if "rescale_mock.cli" in _cmdline(pid) or "rescale-mock" in _cmdline(pid):
            return pid
        pending += children(pid)
    return root


# -- a served fake -------------------------------------------------------------------------------------------------
class ServedFake:
    """`rescale-mock serve --port 0` in a child process with a temporary data dir and the demo key. `data_dir`:
    serve that folder instead; `keep`: leave it in place on close (to serve it again, e.g. with --workers)."""

    def __init__(self, *extra_args: str, data_dir: Path | None = None, keep: bool = False) -> None:
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="rescale-bench-data-"))
        self.keep = keep
        # No --api-key: the server then accepts the demo key (rescale_mock.config.DEMO_KEY).
        self.process = ServedProcess(self.data_dir, (), *extra_args)
        self.base_url = self.process.base_url
        self.api_key = DEMO_KEY
        self.pid = server_pid(self.process.process.pid)
        self.startup_peak = peak_rss(self.pid)  # before any reset: includes imports and app creation
        self.can_reset_peak = reset_peak_rss(self.pid)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}"}

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def peak_rss(self) -> int | None:
        return peak_rss(self.pid)

    def rss(self) -> int | None:
        return current_rss(self.pid)

    def reset_peak(self) -> None:
        if self.can_reset_peak:
            reset_peak_rss(self.pid)

    def log_lines(self, *needles: str) -> list[str]:
        lines = [line.rstrip() for line in list(self.process.output)]
        return [line for line in lines if any(n in line for n in needles)] if needles else lines

    def close(self) -> None:
        self.process.close()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> "ServedFake":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- numbers -----------------------------------------------------------------------------------------------------
def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def mb_per_s(nbytes: int, seconds: float | None) -> float | None:
    """Throughput in MB/s (10^6 bytes per second)."""
    return nbytes / seconds / 1e6 if seconds else None


def mib(nbytes: int | None) -> str:
    return "n/a" if nbytes is None else f"{nbytes / MiB:.1f} MiB"


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


# -- results -------------------------------------------------------------------------------------------------------
@dataclass
class Goal:
    text: str
    status: str  # PASS or GAP (or n/a when it could not be measured)
    detail: str
    brief: str = ""  # one line for the README summary (the detail when empty)


@dataclass
class Result:
    name: str
    title: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (measure, value, note)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    headline: list[tuple[str, str, str]] = field(default_factory=list)  # (measure, value, goal) for the summary

    def row(self, measure: str, value: str, note: str = "") -> None:
        self.rows.append((measure, value, note))

    def section(self, heading: str) -> None:
        self.rows.append((heading, "", "\0section"))

    def headline_row(self, measure: str, value: str, goal: str = "") -> None:
        self.headline.append((measure, value, goal))


def print_result(result: Result, out: Any = None) -> None:
    out = out or sys.stdout
    width_m = max([len(m) for m, _, n in result.rows if n != "\0section"] + [10])
    width_v = max([len(v) for _, v, _ in result.rows] + [5])
    print(f"\n== {result.title} ==", file=out)
    for measure, value, note in result.rows:
        if note == "\0section":
            print(f"-- {measure}", file=out)
            continue
        line = f"  {measure:<{width_m}}  {value:>{width_v}}"
        print(line + (f"  {note}" if note else ""), file=out)
    if result.goals:
        print("-- goals", file=out)
        for goal in result.goals:
            print(f"  [{goal.status}] {goal.text}\n         {goal.detail}", file=out)
    if result.notes:
        print("-- notes", file=out)
        for note in result.notes:
            print(f"  * {note}", file=out)
    out.flush()


def environment() -> dict[str, Any]:
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
        "packages": {d: version(d) for d in ("rescale-mockkit", "cheroot", "werkzeug", "flask", "requests",
                                             "urllib3", "requests-toolbelt")},
    }


def machine() -> dict[str, Any]:
    """What the numbers were measured on: CPU, memory, OS, Python, node; for the README line."""
    import subprocess

    def first(path: str, key: str) -> str | None:
        try:
            with open(path) as fh:
                for line in fh:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            return None
        return None

    def tool_version(*command: str) -> str | None:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = (done.stdout or done.stderr).strip().splitlines()
        return text[0] if text else None

    mem = first("/proc/meminfo", "MemTotal")
    os_name = None
    try:
        os_name = platform.freedesktop_os_release().get("PRETTY_NAME")
    except (OSError, AttributeError):
        pass
    return {
        "cpu": first("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "memoryGiB": round(int(mem.split()[0]) / (1 << 20), 1) if mem else None,
        "os": os_name or platform.system(), "kernel": platform.release(), "python": sys.version.split()[0],
        "node": tool_version("node", "--version"),
        "wrk": (tool_version("wrk", "-v") or "").split(" [")[0] or None if shutil.which("wrk") else None,
    }


def write_json(result: Result, settings: Settings) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    payload = {
        "name": result.name, "title": result.title, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": public(settings), "environment": environment(),
        "goals": [asdict(g) for g in result.goals], "notes": result.notes,
        "table": [list(r) for r in result.rows if r[2] != "\0section"],
        "headline": [list(r) for r in result.headline], "data": result.data,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path
