"""The servers the request benchmarks compare, each in a process of its own, plus the benchmarks' own set-up step.

- the fake: `rescale-mock serve` (common.ServedFake)
- the ceiling: a bare Flask app under the same server settings (bench/hello_app.py)
- Stoplight Prism mocking openapi/rescale.yaml, installed on first use by `ensure_prism()` with npm into
  bench/.node (the only thing the benchmarks install; it needs node and npm, not root)
- wrk, if it is on PATH (never installed by the benchmarks: it needs root; bench.loadgen is the portable fallback;
  BENCH_NO_WRK=1 ignores it)
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from .common import children, log

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SPEC = REPO / "openapi" / "rescale.yaml"
NODE_DIR = BENCH_DIR / ".node"  # gitignored: bench/.node/
PRISM_PACKAGE = "@stoplight/prism-cli"
PRISM_VERSION = "5.14.2"  # pinned for comparable runs; "5" (latest 5.x) if this one cannot be installed
PRISM_ENTRY = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"


# -- process CPU time ----------------------------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) and of its live descendants (the workers of
    `serve --workers`), from /proc/<pid>/stat; None where there is no /proc."""
    total, pending = 0.0, [pid]
    while pending:
        one = pending.pop()
        try:
            with open(f"/proc/{one}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, IndexError, ValueError):
            if one == pid:
                return None
        pending += children(one)
    return total


def loadavg() -> list[float] | None:
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- a generic child server ----------------------------------------------------------------------------------------
class ChildServer:
    """A server process whose output goes to a log file; ready once `ready_url` answers (any HTTP status)."""

    def __init__(self, name: str, args: list[str], base_url: str, ready_path: str = "/", timeout: float = 90,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.base_url = name, base_url
        self.log_path = Path(tempfile.mkstemp(prefix=f"rescale-bench-{name}-", suffix=".log")[1])
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO,
                                        env={**os.environ, **(env or {})})
        self.pid = self.process.pid
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}: {self.log_tail()}")
            try:
                urllib.request.urlopen(base_url + ready_path, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"{name} not ready after {timeout:.0f} s: {self.log_tail()}") from None
                time.sleep(0.2)

    def log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        with contextlib.suppress(OSError):
            self.log_path.unlink()

    def __enter__(self) -> "ChildServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class HelloServer(ChildServer):
    """bench/hello_app.py: Flask + cheroot via rescale_mock.server.make_server, nothing else."""

    def __init__(self, threads: int = 16) -> None:
        port = free_port()
        super().__init__("hello", [sys.executable, "-m", "bench.hello_app", "--port", str(port),
                                   "--threads", str(threads)], f"http://127.0.0.1:{port}")


# -- Prism ---------------------------------------------------------------------------------------------------------
def prism_version() -> str | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((PRISM_ENTRY.parent.parent / "package.json").read_text())["version"]
    return None


def ensure_prism() -> tuple[str | None, str]:
    """The benchmarks' set-up step: `npm install --prefix bench/.node @stoplight/prism-cli@VERSION` unless it is
    already there. Returns (installed version or None, what happened)."""
    if PRISM_ENTRY.exists():
        return prism_version(), f"found in {NODE_DIR.relative_to(REPO)}"
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "node and npm are needed to install Prism (not found on PATH)"
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    errors = []
    for spec in (f"{PRISM_PACKAGE}@{PRISM_VERSION}", f"{PRISM_PACKAGE}@5"):
        command = [npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--no-save",
                   "--loglevel=error", spec]
        log(f"set-up: {' '.join(command[:1] + ['install', '--prefix', 'bench/.node', spec])}")
        started = time.perf_counter()
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=REPO)
        except subprocess.TimeoutExpired:
            errors.append(f"{spec}: npm install timed out after 240 s")
            continue
        if done.returncode == 0 and PRISM_ENTRY.exists():
            return prism_version(), f"installed {spec} with npm in {time.perf_counter() - started:.0f} s"
        tail = " ".join((done.stderr or done.stdout).split())[-300:]
        errors.append(f"{spec}: npm exited {done.returncode}: {tail}")
    return None, "; ".join(errors)


class PrismServer(ChildServer):
    """`prism mock openapi/rescale.yaml -p PORT` (run with node directly, so the pid is Prism's own)."""

    def __init__(self, *extra: str) -> None:
        port = free_port()
        node = shutil.which("node") or "node"
        super().__init__("prism", [node, str(PRISM_ENTRY), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port),
                                   *extra], f"http://127.0.0.1:{port}", ready_path="/api/v2/", timeout=120)


# -- wrk -----------------------------------------------------------------------------------------------------------
def wrk_path() -> str | None:
    """wrk on PATH, unless BENCH_NO_WRK is set (to see what a machine without it measures)."""
    return None if os.environ.get("BENCH_NO_WRK") else shutil.which("wrk")


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match[1]) * _WRK_UNITS[match[2]] if match else float("nan")


def run_wrk(url: str, headers: list[str], connections: int, duration: float, warmup: float) -> dict[str, Any]:
    """wrk -t1 (one thread: the machine's other core is the server's), after `warmup` seconds of wrk discarded."""
    wrk = wrk_path()
    assert wrk
    header_args = [a for h in headers for a in ("-H", h)]
    threads = "1"
    if warmup > 0:
        subprocess.run([wrk, "-t", threads, "-c", str(connections), "-d", f"{max(1, round(warmup))}s",
                        *header_args, url], capture_output=True, timeout=60)
    done = subprocess.run([wrk, "-t", threads, "-c", str(connections), "-d", f"{max(1, round(duration))}s",
                           "--latency", *header_args, url], capture_output=True, text=True, timeout=120)
    out = done.stdout
    requests_match = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    latency = {q: _wrk_ms(m[1]) for q in ("50", "90", "99")
               for m in [re.search(rf"^\s+{q}%\s+(\S+)", out, re.M)] if m}
    mean = re.search(r"Latency\s+(\S+)", out)
    return {
        "tool": "wrk", "url": url, "connections": connections, "durationSeconds": round(duration),
        "requests": int(requests_match[1]) if requests_match else 0,
        "requestsPerSecond": float(rps[1]) if rps else 0.0,
        "non2xx": int(non2xx[1]) if non2xx else 0, "socketErrors": socket_errors[1] if socket_errors else None,
        "latencyMs": {"mean": _wrk_ms(mean[1]) if mean else None, "p50": latency.get("50"),
                      "p90": latency.get("90"), "p99": latency.get("99")},
        "ok": done.returncode == 0 and rps is not None, "stderr": done.stderr[-300:],
    }


def run_loadgen(url: str, headers: list[str], connections: int, duration: float, warmup: float,
                processes: int = 1) -> dict[str, Any]:
    """bench.loadgen in a child process (a separate load generator, as wrk is)."""
    command = [sys.executable, "-m", "bench.loadgen", url, "-c", str(connections), "-d", str(duration),
               "-w", str(warmup), "-p", str(processes)]
    for header in headers:
        command += ["-H", header]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + warmup + 60, cwd=REPO)
    if done.returncode != 0:
        return {"tool": "bench.loadgen", "ok": False, "requestsPerSecond": 0.0, "error": done.stderr[-300:]}
    result = json.loads(done.stdout)
    result["ok"] = True
    return result


class CpuMeter:
    """CPU seconds a process used between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before: float | None = None

    def start(self) -> None:
        self.before = cpu_seconds(self.pid)

    def stop(self) -> float | None:
        after = cpu_seconds(self.pid)
        return None if after is None or self.before is None else after - self.before
