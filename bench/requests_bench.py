"""Requests: throughput and latency of an authenticated `GET /api/v2/jobs/{id}/` over loopback, side by side.

Goals (issues #12 and #18): one server process at least 0.8x the bare app; two worker processes
(`serve --workers 2`) at least 1.6x one, and at least 2x Prism, on each storage engine measured.

Servers, each its own process (tree), all on 127.0.0.1, measured in the same run, interleaved (the order rotates
every round; medians of the rounds are reported):
- fake            `rescale-mock serve --clock-mode manual` (cheroot, 16 threads: what users run); the job read is a
                  Completed job with its output file, created, submitted and moved past its end beforehand
- fake x2         the same data with `--workers 2`: two processes on one port over one store (the job is prepared by
                  a one-process serve of the same data dir, which then stops)
- fake pg, fake pg x2   the same on PostgreSQL, when the benchmark is given `--database URL` (both servers use that
                  database: the job read is each one's own)
- hello           bench/hello_app.py: bare Flask returning a small JSON under the same `make_server` (the ceiling)
- prism           `prism mock openapi/rescale.yaml` (@stoplight/prism-cli, installed by the benchmark with npm into
                  bench/.node): the tool users would pick instead; it answers the spec's static example and only
                  checks that the Authorization header is present (a missing one is 401); no state
- prism -v error  (full runs) the same with request logging off: Prism's best case
Each server first gets a few seconds of load that is not counted (node's JIT warms up). Load generators, each a
separate process: wrk (-t1) when it is on PATH, and bench.loadgen (Python, selectors,
keep-alive) always, so a machine without wrk still measures. Throughput is the best median over the connection
counts tried (1 and 8); latency is shown per connection count. The server's CPU time per request comes from
/proc/<pid>/stat (the workers' included), independent of the load generator's own cost on this 2-core machine.

"Where the time goes" calls the fake's WSGI app directly in this process (no server, bench/profile_request.py).

Phases, one function each: `in_process_costs`, `start_servers`, `check`, `warm_up`, `measure_rounds`, `digest`,
then the report: `table`, `goals`, `headlines`, `notes`.
"""
from __future__ import annotations

import contextlib
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests
from rescale_mock.testing import Control

from . import profile_request
from .common import SQLITE, Engine, Goal, Result, ServedFake, Settings, fmt, log, median, ratio
from .servers import (ChildServer, CpuMeter, HelloServer, PrismServer, ensure_prism, loadavg, run_loadgen, run_wrk,
                      wrk_path)

HELLO_GOAL, PRISM_GOAL, WORKERS_GOAL = 0.8, 2.0, 1.6
CONNECTIONS = (1, 8)
WORKERS = 2


def _get(url: str, headers: dict[str, str]) -> tuple[int, int]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, len(response.read())
    except urllib.error.HTTPError as err:
        return err.code, len(err.read())


class Target:
    def __init__(self, name: str, url: str, pid: int, closer: Callable[[], None]) -> None:
        self.name, self.url, self.pid, self.close = name, url, pid, closer


@dataclass
class Plan:
    quick: bool
    duration: float
    warmup: float
    rounds: int
    tools: list[str]
    engines: list[Engine]

    @property
    def primary(self) -> str:
        return self.tools[0]

    @property
    def keys(self) -> list[str]:
        return [f"{tool} c={c}" for tool in self.tools for c in CONNECTIONS]


@dataclass
class Stats:
    names: list[str]
    rps: dict[str, dict[str, float | None]] = field(default_factory=dict)
    p50: dict[str, dict[str, float | None]] = field(default_factory=dict)
    p99: dict[str, dict[str, float | None]] = field(default_factory=dict)
    cpu_us: dict[str, dict[str, float | None]] = field(default_factory=dict)
    cpu_share: dict[str, dict[str, float | None]] = field(default_factory=dict)
    peaks: dict[str, dict[str, tuple[float | None, str]]] = field(default_factory=dict)  # tool -> name -> (rps, at)

    def peak(self, tool: str, name: str) -> float | None:
        return self.peaks.get(tool, {}).get(name, (None, ""))[0]

    def peak_at(self, tool: str, name: str) -> str:
        return self.peaks.get(tool, {}).get(name, (None, ""))[1]


def fake_name(engine: Engine, workers: int = 1) -> str:
    base = "fake" if engine.name == SQLITE.name else "fake pg" if engine.name == "postgresql" else f"fake {engine.name}"
    return base + (f" x{workers}" if workers > 1 else "")


def plan_for(settings: Settings) -> Plan:
    quick = settings.quick
    tools = (["wrk"] if wrk_path() else []) + ["bench.loadgen"]
    return Plan(quick=quick, duration=2.0 if quick else 5.0, warmup=0.5 if quick else 1.0,
                rounds=min(settings.rounds, 2) if quick else settings.rounds,
                tools=tools[:1] if quick else tools,  # --quick: one load generator (the time budget)
                engines=settings.engines())


# -- phase: in-process costs --------------------------------------------------------------------------------------
def in_process_costs(quick: bool) -> dict[str, Any]:
    """Where the time goes: the fake's WSGI app called directly (before the servers run, so nothing competes)."""
    calls = 1500 if quick else 5000
    log("in-process: the fake's WSGI app called directly (no server)")
    app, job_in = profile_request.completed_job_app()
    base = profile_request.environ_for(f"/api/v2/jobs/{job_in}/", {"Authorization": f"Token {profile_request.KEY}"})
    app_validated, job_v = profile_request.completed_job_app(validate=True)
    base_v = profile_request.environ_for(f"/api/v2/jobs/{job_v}/", {"Authorization": f"Token {profile_request.KEY}"})
    calls_validated = max(100, calls // 10)  # ten times slower
    try:
        return {
            "fakeUs": profile_request.app_cost(app, base, calls),
            "fakeValidatedUs": profile_request.app_cost(app_validated, base_v, calls_validated),
            "helloUs": profile_request.hello_cost(calls),
            "stagesUs": profile_request.stages(app, base, calls),
            "stagesValidatedUs": profile_request.stages(app_validated, base_v, calls_validated),
            "profileTop": profile_request.profile_top(app, base, min(calls, 2000), limit=20),
        }
    finally:
        app.extensions["rescale_mock"].close()
        app_validated.extensions["rescale_mock"].close()


# -- phase: servers -------------------------------------------------------------------------------------------------
def _completed_job(fake: ServedFake) -> str:
    body = profile_request.JOB
    with requests.Session() as session:
        session.headers.update(fake.headers)
        job_id = session.post(fake.url("/api/v2/jobs/"), json=body, timeout=30).json()["id"]
        session.post(fake.url(f"/api/v2/jobs/{job_id}/submit/"), timeout=30).raise_for_status()
        Control(fake.base_url, fake.api_key).advance(3600)
        status = session.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/"), timeout=30).json()["results"][0]
        assert status["status"] == "Completed", status
        # (reads write nothing: the measured GETs find the job as it is now, outputs unwritten)
    return job_id


def start_fake(engine: Engine, workers: int, stack: contextlib.ExitStack) -> tuple[ServedFake, str]:
    """A served fake on `engine` holding one Completed job (made by a one-process serve of the same data dir). On
    PostgreSQL each server gets a schema of its own (dropped when `stack` closes), so two never share their state."""
    serve_args = engine.serve_args
    if engine.name == "postgresql":
        from rescale_mock.testing_postgres import schema_of_its_own

        serve_args = ("--database", stack.enter_context(schema_of_its_own(engine.serve_args[1])))
    data_dir = Path(tempfile.mkdtemp(prefix="rescale-bench-data-"))
    first = ServedFake("--clock-mode", "manual", *serve_args, data_dir=data_dir, keep=workers > 1)
    try:
        job_id = _completed_job(first)
    except BaseException:
        first.keep = False
        first.close()
        raise
    if workers == 1:
        return first, job_id
    first.close()
    return ServedFake("--clock-mode", "manual", "--workers", str(workers), *serve_args, data_dir=data_dir), job_id


def start_servers(plan: Plan, data: dict[str, Any], problems: dict[str, str]) -> list[Target]:
    """The fakes (one process and WORKERS processes, per engine), hello, and Prism (installed on first use)."""
    prism_version, prism_setup = ensure_prism()
    data["prism"] = {"version": prism_version, "setup": prism_setup}
    log(f"prism: {prism_setup}")
    targets: list[Target] = []
    path = ""
    for engine in plan.engines:
        for workers in (1, WORKERS):
            name = fake_name(engine, workers)
            log(f"starting {name}")
            stack = contextlib.ExitStack()
            try:
                fake, job_id = start_fake(engine, workers, stack)
            except Exception as err:  # noqa: BLE001 - a server that cannot start is a reported problem
                stack.close()
                problems[name] = f"{type(err).__name__}: {str(err)[:300]}"
                continue
            stack.callback(fake.close)  # closed first: the server, then its schema
            path = path or f"/api/v2/jobs/{job_id}/"
            target = Target(name, fake.url(f"/api/v2/jobs/{job_id}/"), fake.pid, stack.close)
            target.fake = fake  # type: ignore[attr-defined]
            targets.append(target)
    hello = HelloServer()
    targets.append(Target("hello", hello.base_url + (path or "/api/v2/jobs/x/"), hello.pid, hello.close))
    prism_variants = [("prism", ())] + ([] if plan.quick else [("prism -v error", ("-v", "error"))])
    for name, extra in prism_variants if prism_version else []:
        try:
            log(f"starting {name}")
            started = time.perf_counter()
            server: ChildServer = PrismServer(*extra)
            data.setdefault("prismStartSeconds", {})[name] = time.perf_counter() - started
            targets.append(Target(name, server.base_url + (path or "/api/v2/jobs/x/"), server.pid, server.close))
        except RuntimeError as err:
            problems[name] = str(err)[:300]
    if not prism_version:
        problems["prism"] = prism_setup
    return targets


def check(targets: list[Target], api_key: str) -> dict[str, Any]:
    auth = {"Authorization": f"Token {api_key}"}
    checks = {t.name: {"withToken": _get(t.url, auth), "withoutToken": _get(t.url, {})} for t in targets}
    for name, one in checks.items():
        log(f"{name}: {one['withToken'][0]} with the token ({one['withToken'][1]} bytes), "
            f"{one['withoutToken'][0]} without")
    return checks


# -- phase: load ----------------------------------------------------------------------------------------------------
def measure(target: Target, tool: str, connections: int, duration: float, warmup: float,
            headers: list[str]) -> dict[str, Any]:
    meter = CpuMeter(target.pid)
    if tool == "wrk":
        if warmup:
            run_wrk(target.url, headers, connections, warmup, 0)
        meter.start()
        outcome = run_wrk(target.url, headers, connections, duration, 0)
        served = outcome.get("requests") or 0
        bad = outcome.get("non2xx", 0)
    else:
        meter.start()
        outcome = run_loadgen(target.url, headers, connections, duration, warmup)
        served = outcome.get("allResponses") or 0
        bad = sum(n for code, n in (outcome.get("statuses") or {}).items() if not code.startswith("2"))
    cpu = meter.stop()
    outcome["serverCpuSeconds"] = cpu
    outcome["serverCpuUsPerRequest"] = cpu / served * 1e6 if cpu is not None and served else None
    outcome["serverCpuShare"] = cpu / (duration + (warmup if tool != "wrk" else 0)) if cpu is not None else None
    outcome["bad"] = bad
    return outcome


def warm_up(targets: list[Target], plan: Plan, headers: list[str]) -> None:
    """A first load on each server (node's JIT, Python's caches), not counted."""
    for target in targets:
        measure(target, plan.primary, max(CONNECTIONS), 2.0 if plan.quick else 5.0, 0, headers)


def measure_rounds(targets: list[Target], plan: Plan, headers: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {t.name: {} for t in targets}
    for round_no in range(plan.rounds):
        for tool in plan.tools:
            for c in CONNECTIONS:
                order = targets[round_no % len(targets):] + targets[:round_no % len(targets)]
                for target in order:
                    outcome = measure(target, tool, c, plan.duration, plan.warmup, headers)
                    outcome["round"] = round_no
                    runs[target.name].setdefault(f"{tool} c={c}", []).append(outcome)
                    log(f"round {round_no + 1}/{plan.rounds} {tool} c={c} {target.name}: "
                        f"{outcome.get('requestsPerSecond', 0):.0f} req/s, p50 "
                        f"{fmt((outcome.get('latencyMs') or {}).get('p50'), 2)} ms, server CPU "
                        f"{fmt(outcome['serverCpuUsPerRequest'], 0)} us/req"
                        + (f", {outcome['bad']} non-2xx" if outcome.get("bad") else "")
                        + ("" if outcome.get("ok", True) else f" FAILED {outcome.get('error', '')[:100]}"))
    return runs


def digest(runs: dict[str, dict[str, list[dict[str, Any]]]], plan: Plan) -> Stats:
    names, keys = list(runs), plan.keys

    def med(name: str, key: str, pick: Callable[[dict[str, Any]], Any]) -> float | None:
        return median(pick(r) for r in runs[name].get(key, []) if r.get("ok", True))

    stats = Stats(names)
    stats.rps = {n: {k: med(n, k, lambda r: r.get("requestsPerSecond")) for k in keys} for n in names}
    stats.p50 = {n: {k: med(n, k, lambda r: (r.get("latencyMs") or {}).get("p50")) for k in keys} for n in names}
    stats.p99 = {n: {k: med(n, k, lambda r: (r.get("latencyMs") or {}).get("p99")) for k in keys} for n in names}
    stats.cpu_us = {n: {k: med(n, k, lambda r: r.get("serverCpuUsPerRequest")) for k in keys} for n in names}
    stats.cpu_share = {n: {k: med(n, k, lambda r: r.get("serverCpuShare")) for k in keys} for n in names}

    def peak(name: str, tool: str) -> tuple[float | None, str]:
        options = [(value, k) for k in keys if k.startswith(tool + " ") for value in [stats.rps[name][k]] if value]
        return max(options) if options else (None, "")

    stats.peaks = {tool: {n: peak(n, tool) for n in names} for tool in plan.tools}
    return stats


# -- the report -----------------------------------------------------------------------------------------------------
def labels(prism_version: str | None) -> dict[str, str]:
    return {"fake": "fake (rescale-mock serve)", f"fake x{WORKERS}": f"fake, --workers {WORKERS}",
            "fake pg": "fake on PostgreSQL", f"fake pg x{WORKERS}": f"fake on PostgreSQL, --workers {WORKERS}",
            "hello": "hello (bare Flask, same server)", "prism": f"Prism {prism_version or ''} (default)",
            "prism -v error": "Prism -v error (no request log)"}


def table(result: Result, plan: Plan, stats: Stats, inproc: dict[str, Any], prism_version: str | None) -> None:
    names, keys, label = stats.names, plan.keys, labels(prism_version)
    result.section(f"throughput, req/s (median of {plan.rounds} rounds of {plan.duration:g} s after "
                   f"{plan.warmup:g} s warm-up)")
    for tool in plan.tools:
        for n in names:
            detail = ", ".join(f"c={k.split('c=')[1]}: {fmt(stats.rps[n][k], 0)}" for k in keys if k.startswith(tool + " "))
            result.row(f"{tool}: {label.get(n, n)}", fmt(stats.peak(tool, n), 0, " req/s"), f"best of {detail}")
    result.section("ratios of the best throughputs")
    for tool in plan.tools:
        fake_rps = stats.peak(tool, "fake")
        for n in names:
            if n == "fake":
                continue
            goal = {"hello": f"goal >= {HELLO_GOAL}x"}.get(n, "")
            result.row(f"{tool}: fake / {n}", fmt(ratio(fake_rps, stats.peak(tool, n)), 2, "x"), goal)
        for engine in plan.engines:
            one, many = fake_name(engine), fake_name(engine, WORKERS)
            result.row(f"{tool}: {many} / {one}", fmt(ratio(stats.peak(tool, many), stats.peak(tool, one)), 2, "x"),
                       f"goal >= {WORKERS_GOAL}x")
            result.row(f"{tool}: {many} / prism", fmt(ratio(stats.peak(tool, many), stats.peak(tool, "prism")), 2, "x"),
                       f"goal >= {PRISM_GOAL}x")
    result.section("latency, ms (p50 / p99) and the server's CPU per request")
    for key in keys:
        for n in names:
            result.row(f"{key}: {n}", f"{fmt(stats.p50[n][key], 2)} / {fmt(stats.p99[n][key], 2)}",
                       f"server CPU {fmt(stats.cpu_us[n][key], 0)} us/req, "
                       f"{fmt((stats.cpu_share[n][key] or 0) * 100, 0)}% of a core")

    result.section("where the fake's time goes (WSGI app called in-process, no server)")
    result.row("fake app, per request", fmt(inproc["fakeUs"], 0, " us"), f"{fmt(1e6 / inproc['fakeUs'], 0)} req/s "
               "on one core at most, before any server cost")
    validate_us = inproc["stagesValidatedUs"]["validate"]
    result.row("  with --validate-responses", fmt(inproc["fakeValidatedUs"], 0, " us"),
               f"as the pytest plugin's fakes run: {validate_us:.0f} us of it validating the response (jsonschema)")
    result.row("hello app, per request", fmt(inproc["helloUs"], 0, " us"))
    stage_us = inproc["stagesUs"]
    for name, text in profile_request.STAGES + profile_request.REST:
        if name == "validate":
            continue
        result.row(f"  {text}", fmt(stage_us[name], 0, " us"), f"{stage_us[name] / stage_us['total']:.0%}")
    key_c1 = f"{plan.primary} c=1"  # one connection: the least contention
    fake_cpu, hello_cpu = stats.cpu_us.get("fake", {}).get(key_c1), stats.cpu_us.get("hello", {}).get(key_c1)
    if fake_cpu and hello_cpu:
        result.row("served: server CPU per request, fake", fmt(fake_cpu, 0, " us"),
                   f"app {inproc['fakeUs']:.0f} us + server/socket ~{fake_cpu - inproc['fakeUs']:.0f} us ({key_c1})")
        result.row("served: server CPU per request, hello", fmt(hello_cpu, 0, " us"),
                   f"app {inproc['helloUs']:.0f} us + server/socket ~{hello_cpu - inproc['helloUs']:.0f} us")


def _hello_goal(plan: Plan, stats: Stats, inproc: dict[str, Any], problems: dict[str, str]) -> Goal:
    primary, key_c1 = plan.primary, f"{plan.primary} c=1"
    gen_note = primary + ("" if primary == "wrk" else " (wrk not on PATH: the Python generator)")
    fake_peak, hello_peak = stats.peak(primary, "fake"), stats.peak(primary, "hello")
    hello_ratio = ratio(fake_peak, hello_peak)
    if hello_ratio is None:
        return Goal(f"fake >= {HELLO_GOAL}x the bare Flask app under the same server", "GAP",
                    f"not measured: {problems.get('hello') or problems.get('fake') or 'no result'}")
    fake_cpu, hello_cpu = stats.cpu_us.get("fake", {}).get(key_c1), stats.cpu_us.get("hello", {}).get(key_c1)
    why, brief = "", ""
    if hello_ratio < HELLO_GOAL:
        stage_us = inproc["stagesUs"]
        top = sorted(((stage_us[k], text) for k, text in profile_request.STAGES + profile_request.REST
                      if k != "validate"), reverse=True)[:3]
        why = (f"; the server is the bottleneck: one process under one GIL, busy "
               f"{fmt((stats.cpu_share['fake'].get(stats.peak_at(primary, 'fake')) or 0) * 100, 0)}% of a core; its "
               f"app alone costs {inproc['fakeUs']:.0f} us/request vs {inproc['helloUs']:.0f} us for hello (largest: "
               + ", ".join(f"{text.split(':')[0].split(' (')[0]} {us:.0f} us" for us, text in top)
               + f"), server CPU {fmt(fake_cpu, 0)} vs {fmt(hello_cpu, 0)} us/request served")
        brief = (f"{fmt(hello_ratio, 2)}x: the fake is CPU-bound in one process, {fmt(fake_cpu, 0)} vs "
                 f"{fmt(hello_cpu, 0)} us of server CPU per request; its app alone costs {inproc['fakeUs']:.0f} "
                 f"us vs {inproc['helloUs']:.0f} us (spec-shaped response, spec validation of parameters, auth, the "
                 "store's state-version read, the job read and the journal row, on werkzeug)")
    return Goal(f"fake >= {HELLO_GOAL}x the bare Flask app under the same server",
                "PASS" if hello_ratio >= HELLO_GOAL else "GAP",
                f"{fmt(fake_peak, 0)} vs {fmt(hello_peak, 0)} req/s = {fmt(hello_ratio, 2)}x ({gen_note})" + why,
                brief=brief)


def _workers_goals(plan: Plan, stats: Stats, problems: dict[str, str]) -> list[Goal]:
    primary, found = plan.primary, []
    prism = stats.peak(primary, "prism")
    for engine in plan.engines:
        one, many = fake_name(engine), fake_name(engine, WORKERS)
        one_rps, many_rps = stats.peak(primary, one), stats.peak(primary, many)
        scaling = ratio(many_rps, one_rps)
        cpu_many = stats.cpu_share.get(many, {}).get(stats.peak_at(primary, many))
        cpu_one = stats.cpu_share.get(one, {}).get(stats.peak_at(primary, one))
        # req/s per core the servers actually got: equal for both means the workers are bounded by the CPU they
        # were given (the machine's other load, the load generator), not by each other or the store
        per_core = (ratio(many_rps, cpu_many), ratio(one_rps, cpu_one))
        if scaling is None:
            found.append(Goal(f"{many} >= {WORKERS_GOAL}x {one} ({engine.name})", "GAP",
                              f"not measured: {problems.get(many) or problems.get(one) or 'no result'}"))
        else:
            found.append(Goal(
                f"{many} >= {WORKERS_GOAL}x {one} ({engine.name})", "PASS" if scaling >= WORKERS_GOAL else "GAP",
                f"{fmt(many_rps, 0)} vs {fmt(one_rps, 0)} req/s = {scaling:.2f}x ({primary}); the workers got "
                f"{fmt((cpu_many or 0) * 100, 0)}% of a core in all, one process {fmt((cpu_one or 0) * 100, 0)}%, "
                f"on a 2-core machine that also runs the load generator; per core used: {fmt(per_core[0], 0)} vs "
                f"{fmt(per_core[1], 0)} req/s",
                brief=f"{scaling:.2f}x" + ("" if scaling >= WORKERS_GOAL else
                                           f": the two workers got {fmt((cpu_many or 0) * 100, 0)}% of a core in all "
                                           f"(one process {fmt((cpu_one or 0) * 100, 0)}%); per core used "
                                           f"{fmt(per_core[0], 0)} vs {fmt(per_core[1], 0)} req/s")))
        versus = ratio(many_rps, prism)
        found.append(Goal(
            f"{many} >= {PRISM_GOAL}x Prism mocking the same spec ({engine.name})",
            "GAP" if versus is None or versus < PRISM_GOAL else "PASS",
            f"{fmt(many_rps, 0)} vs {fmt(prism, 0)} req/s = {fmt(versus, 2)}x ({primary})" if versus is not None
            else f"not measured: {problems.get('prism') or problems.get(many) or 'no result'}"))
    return found


def goals(result: Result, plan: Plan, stats: Stats, inproc: dict[str, Any], problems: dict[str, str],
          prism_version: str | None, prism_setup: str) -> None:
    primary = plan.primary
    result.goals.append(_hello_goal(plan, stats, inproc, problems))
    fake_peak, prism_peak = stats.peak(primary, "fake"), stats.peak(primary, "prism")
    prism_ratio, quiet = ratio(fake_peak, prism_peak), stats.peak(primary, "prism -v error")
    if prism_ratio is not None:  # one process vs Prism: reported, the goal is on the workers
        detail = f"{fmt(fake_peak, 0)} vs {fmt(prism_peak, 0)} req/s = {prism_ratio:.2f}x ({primary})"
        if quiet:
            detail += f"; vs Prism without its request log {fmt(quiet, 0)} req/s = {ratio(fake_peak, quiet):.2f}x"
        result.notes.append(f"one process vs Prism: {detail}; Prism (node, one event loop) costs "
                            f"{fmt(stats.cpu_us['prism'].get(stats.peak_at(primary, 'prism')), 0)} us of CPU per "
                            f"request, the fake {fmt(stats.cpu_us['fake'].get(stats.peak_at(primary, 'fake')), 0)} us")
    result.goals.extend(_workers_goals(plan, stats, problems))
    result.goals.append(Goal(
        "Prism is installed by the benchmark's own set-up step (npm into bench/.node)",
        "PASS" if prism_version else "GAP", prism_setup if prism_version else f"not installed: {prism_setup}"))


def headlines(result: Result, plan: Plan, stats: Stats, inproc: dict[str, Any], prism_version: str | None) -> None:
    primary, key_c1, names = plan.primary, f"{plan.primary} c=1", stats.names
    fake_peak, hello_peak, prism_peak = (stats.peak(primary, n) for n in ("fake", "hello", "prism"))
    hello_ratio = ratio(fake_peak, hello_peak)
    result.headline_row(f"GET job, fake vs bare Flask on the same server ({primary})",
                        f"{fmt(fake_peak, 0)} vs {fmt(hello_peak, 0)} req/s = {fmt(hello_ratio, 2)}x",
                        f">= {HELLO_GOAL}x: {'PASS' if hello_ratio and hello_ratio >= HELLO_GOAL else 'GAP'}")
    for engine in plan.engines:
        one, many = fake_name(engine), fake_name(engine, WORKERS)
        scaling = ratio(stats.peak(primary, many), stats.peak(primary, one))
        result.headline_row(f"GET job, {WORKERS} workers vs 1, {engine.name} ({primary})",
                            f"{fmt(stats.peak(primary, many), 0)} vs {fmt(stats.peak(primary, one), 0)} req/s = "
                            f"{fmt(scaling, 2)}x",
                            f">= {WORKERS_GOAL}x: {'PASS' if scaling and scaling >= WORKERS_GOAL else 'GAP'}")
        versus = ratio(stats.peak(primary, many), prism_peak)
        result.headline_row(f"GET job, {WORKERS} workers ({engine.name}) vs Prism {prism_version or ''} ({primary})",
                            f"{fmt(stats.peak(primary, many), 0)} vs {fmt(prism_peak, 0)} req/s = {fmt(versus, 2)}x",
                            f">= {PRISM_GOAL}x: {'PASS' if versus and versus >= PRISM_GOAL else 'GAP'}")
    result.headline_row(f"GET job, 1 process vs Prism {prism_version or ''} ({primary})",
                        f"{fmt(fake_peak, 0)} vs {fmt(prism_peak, 0)} req/s = {fmt(ratio(fake_peak, prism_peak), 2)}x")

    def lat(name: str) -> str:
        return f"{fmt(stats.p50.get(name, {}).get(key_c1), 2)} / {fmt(stats.p99.get(name, {}).get(key_c1), 2)}"

    result.headline_row("GET job latency p50 / p99 at 1 connection, ms", ", ".join(f"{n} {lat(n)}" for n in names))
    result.headline_row("server CPU per request (1 connection)",
                        " / ".join(f"{n} {fmt(stats.cpu_us[n].get(key_c1), 0)}" for n in names) + " us")
    result.headline_row("fake's WSGI app alone (no server): plain / validated; hello",
                        f"{inproc['fakeUs']:.0f} / {inproc['fakeValidatedUs']:.0f} us; {inproc['helloUs']:.0f} us")


def notes(result: Result, plan: Plan, data: dict[str, Any], runs: dict[str, Any], problems: dict[str, str]) -> None:
    checks = data["checks"]
    for name, one in checks.items():
        if one["withToken"][0] != 200:
            result.notes.append(f"{name} answered {one['withToken'][0]} with the token: its numbers are not a job read")
    if "prism" in checks and "fake" in checks:
        result.notes.append(
            f"Prism answers the spec's example for any id ({checks['prism']['withToken'][1]} bytes; the fake's "
            f"job is {checks['fake']['withToken'][1]} bytes) and checks only that the Authorization header is "
            f"there (without it: {checks['prism']['withoutToken'][0]}); it keeps no state")
    for name, problem in problems.items():
        result.notes.append(f"{name}: {problem}")
    bad = {f"{n} {k}": sum(r.get("bad", 0) for r in rs) for n in runs for k, rs in runs[n].items()}
    if any(bad.values()):
        result.notes.append("non-2xx answers: " + ", ".join(f"{k}: {v}" for k, v in bad.items() if v))
    if plan.primary != "wrk":
        result.notes.append("wrk is not on PATH (e.g. `apt-get install wrk`): measured with bench.loadgen only")
    start_load, end_load = data["loadavgStart"], data.get("loadavgEnd")
    if start_load and start_load[0] > 0.5:
        result.notes.append(f"the machine was not idle: load average {start_load[0]:.2f} at the start"
                            + (f", {end_load[0]:.2f} at the end" if end_load else ""))
    spread = {n: [r.get("requestsPerSecond") or 0.0 for r in runs[n].get(f"{plan.primary} c=8", [])] for n in runs}
    noisy = [f"{n} {min(v):.0f}-{max(v):.0f}" for n, v in spread.items() if len(v) > 1 and min(v) > 0
             and max(v) / min(v) > 1.3]
    if noisy:
        result.notes.append(f"round-to-round spread above 30% ({plan.primary} c=8, req/s): " + ", ".join(noisy))


# -- the benchmark --------------------------------------------------------------------------------------------------
def run(settings: Settings) -> Result:
    plan = plan_for(settings)
    result = Result("requests", "requests: authenticated GET /api/v2/jobs/{id}/ over loopback"
                                + (" (--quick)" if plan.quick else ""))
    data: dict[str, Any] = {"durationSeconds": plan.duration, "warmupSeconds": plan.warmup, "rounds": plan.rounds,
                            "loadavgStart": loadavg(), "tools": plan.tools,
                            "engines": [e.name for e in plan.engines], "workers": WORKERS}
    result.data = data
    data["inProcess"] = inproc = in_process_costs(plan.quick)
    problems: dict[str, str] = {}
    targets = start_servers(plan, data, problems)
    try:
        fake = next((getattr(t, "fake") for t in targets if hasattr(t, "fake")), None)
        api_key = fake.api_key if fake else profile_request.KEY
        headers = [f"Authorization: Token {api_key}"]
        data["checks"] = check(targets, api_key)
        warm_up(targets, plan, headers)
        runs = measure_rounds(targets, plan, headers)
        data["runs"] = runs
        data["loadavgEnd"] = loadavg()
        data["fakeLogWarnings"] = {t.name: getattr(t, "fake").log_lines("WARNING", "ERROR", "Traceback")[-20:]
                                   for t in targets if hasattr(t, "fake")}
    finally:
        for target in targets:
            target.close()

    stats = digest(runs, plan)
    data.update(rps=stats.rps, p50=stats.p50, p99=stats.p99, serverCpuUsPerRequest=stats.cpu_us,
                serverCpuShare=stats.cpu_share, problems=problems,
                peaks={tool: {n: {"rps": v, "at": k} for n, (v, k) in p.items()} for tool, p in stats.peaks.items()})
    prism_version, prism_setup = data["prism"]["version"], data["prism"]["setup"]
    table(result, plan, stats, inproc, prism_version)
    goals(result, plan, stats, inproc, problems, prism_version, prism_setup)
    headlines(result, plan, stats, inproc, prism_version)
    notes(result, plan, data, runs, problems)
    return result
