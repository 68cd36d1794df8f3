"""Requests: throughput and latency of an authenticated `GET /api/v2/jobs/{id}/` over loopback, side by side.

Goal (issue text): "at least 0.8x the bare app and at least 2x Prism".

Servers, each its own process, all on 127.0.0.1, measured in the same run, interleaved (the order rotates every
round; medians of the rounds are reported):
- fake            `rescale-mock serve --clock-mode manual` (cheroot, 16 threads: what users run); the job read is a
                  Completed job with its output file, created, submitted and moved past its end beforehand
- hello           bench/hello_app.py: bare Flask returning a small JSON under the same `make_server` (the ceiling)
- prism           `prism mock openapi/rescale.yaml` (@stoplight/prism-cli, installed by the benchmark with npm into
                  bench/.node): the tool users would pick instead; it answers the spec's static example and only
                  checks that the Authorization header is present (a missing one is 401); no state
- prism -v error  (full runs) the same with request logging off: Prism's best case
Each server first gets a few seconds of load that is not counted (node's JIT warms up). Load generators, each a
separate process: wrk (-t1) when it is on PATH, and bench.loadgen (Python, selectors,
keep-alive) always, so a machine without wrk still measures. Throughput is the best median over the connection
counts tried (1 and 8); latency is shown per connection count. The server's CPU time per request comes from
/proc/<pid>/stat, independent of the load generator's own cost on this 2-core machine.

"Where the time goes" calls the fake's WSGI app directly in this process (no server, bench/profile_request.py).
"""
from __future__ import annotations

import time
import urllib.request
from typing import Any, Callable

import requests
from rescale_mock.testing import Control

from . import profile_request
from .common import Goal, Result, ServedFake, Settings, fmt, log, median, ratio
from .servers import (ChildServer, CpuMeter, HelloServer, PrismServer, ensure_prism, loadavg, run_loadgen, run_wrk,
                      wrk_path)

HELLO_GOAL, PRISM_GOAL = 0.8, 2.0
CONNECTIONS = (1, 8)


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


def run(settings: Settings) -> Result:
    quick = settings.quick
    duration, warmup = (2.0, 0.5) if quick else (5.0, 1.0)
    rounds = min(settings.rounds, 2) if quick else settings.rounds
    result = Result("requests", "requests: authenticated GET /api/v2/jobs/{id}/ over loopback"
                                + (" (--quick)" if quick else ""))
    data: dict[str, Any] = {"durationSeconds": duration, "warmupSeconds": warmup, "rounds": rounds,
                            "loadavgStart": loadavg()}
    result.data = data
    tools = (["wrk"] if wrk_path() else []) + ["bench.loadgen"]
    primary = tools[0]
    if quick:
        tools = [primary]  # --quick: one load generator (the time budget); full runs report both
    data["tools"] = tools

    # -- in-process: where the time goes (before the servers run, so nothing competes with it)
    calls = 1500 if quick else 5000
    log("in-process: the fake's WSGI app called directly (no server)")
    app, job_in = profile_request.completed_job_app()
    base = profile_request.environ_for(f"/api/v2/jobs/{job_in}/", {"Authorization": f"Token {profile_request.KEY}"})
    app_validated, job_v = profile_request.completed_job_app(validate=True)
    base_v = profile_request.environ_for(f"/api/v2/jobs/{job_v}/", {"Authorization": f"Token {profile_request.KEY}"})
    calls_validated = max(100, calls // 10)  # ten times slower
    inproc: dict[str, Any] = {
        "fakeUs": profile_request.app_cost(app, base, calls),
        "fakeValidatedUs": profile_request.app_cost(app_validated, base_v, calls_validated),
        "helloUs": profile_request.hello_cost(calls),
        "stagesUs": profile_request.stages(app, base, calls),
        "stagesValidatedUs": profile_request.stages(app_validated, base_v, calls_validated),
        "profileTop": profile_request.profile_top(app, base, min(calls, 2000), limit=20),
    }
    app.extensions["rescale_mock"].close()
    app_validated.extensions["rescale_mock"].close()
    data["inProcess"] = inproc

    # -- servers
    prism_version, prism_setup = ensure_prism()
    data["prism"] = {"version": prism_version, "setup": prism_setup}
    log(f"prism: {prism_setup}")
    targets: list[Target] = []
    problems: dict[str, str] = {}
    fake = ServedFake("--clock-mode", "manual")
    targets.append(Target("fake", "", fake.pid, fake.close))
    try:
        job_id = _completed_job(fake)
        path = f"/api/v2/jobs/{job_id}/"
        targets[0].url = fake.url(path)
        hello = HelloServer()
        targets.append(Target("hello", hello.base_url + path, hello.pid, hello.close))
        prism_variants = [("prism", ())] + ([] if quick else [("prism -v error", ("-v", "error"))])
        for name, extra in prism_variants if prism_version else []:
            try:
                log(f"starting {name}")
                started = time.perf_counter()
                server: ChildServer = PrismServer(*extra)
                data.setdefault("prismStartSeconds", {})[name] = time.perf_counter() - started
                targets.append(Target(name, server.base_url + path, server.pid, server.close))
            except RuntimeError as err:
                problems[name] = str(err)[:300]
        if not prism_version:
            problems["prism"] = prism_setup

        auth = {"Authorization": f"Token {fake.api_key}"}
        headers = [f"Authorization: Token {fake.api_key}"]
        checks = {t.name: {"withToken": _get(t.url, auth), "withoutToken": _get(t.url, {})} for t in targets}
        data["checks"] = checks
        for name, check in checks.items():
            log(f"{name}: {check['withToken'][0]} with the token ({check['withToken'][1]} bytes), "
                f"{check['withoutToken'][0]} without")

        # -- a first warm-up of each server (node's JIT, Python's caches), not counted
        for target in targets:
            measure(target, primary, max(CONNECTIONS), 2.0 if quick else 5.0, 0, headers)

        # -- measurements, interleaved
        plan = [(tool, c) for tool in tools for c in CONNECTIONS]
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {t.name: {} for t in targets}
        for round_no in range(rounds):
            for tool, c in plan:
                order = targets[round_no % len(targets):] + targets[:round_no % len(targets)]
                for target in order:
                    outcome = measure(target, tool, c, duration, warmup, headers)
                    outcome["round"] = round_no
                    runs[target.name].setdefault(f"{tool} c={c}", []).append(outcome)
                    log(f"round {round_no + 1}/{rounds} {tool} c={c} {target.name}: "
                        f"{outcome.get('requestsPerSecond', 0):.0f} req/s, p50 "
                        f"{fmt((outcome.get('latencyMs') or {}).get('p50'), 2)} ms, server CPU "
                        f"{fmt(outcome['serverCpuUsPerRequest'], 0)} us/req"
                        + (f", {outcome['bad']} non-2xx" if outcome.get("bad") else "")
                        + ("" if outcome.get("ok", True) else f" FAILED {outcome.get('error', '')[:100]}"))
        data["runs"] = runs
        data["loadavgEnd"] = loadavg()
        data["fakeLogWarnings"] = fake.log_lines("WARNING", "ERROR", "Traceback")[-20:]
    finally:
        for target in targets:
            target.close()

    # -- summary
    names = [t.name for t in targets]
    keys = [f"{tool} c={c}" for tool, c in plan]

    def med(name: str, key: str, pick: Callable[[dict[str, Any]], Any]) -> float | None:
        return median(pick(r) for r in runs[name].get(key, []) if r.get("ok", True))

    rps = {n: {k: med(n, k, lambda r: r.get("requestsPerSecond")) for k in keys} for n in names}
    p50 = {n: {k: med(n, k, lambda r: (r.get("latencyMs") or {}).get("p50")) for k in keys} for n in names}
    p99 = {n: {k: med(n, k, lambda r: (r.get("latencyMs") or {}).get("p99")) for k in keys} for n in names}
    cpu_us = {n: {k: med(n, k, lambda r: r.get("serverCpuUsPerRequest")) for k in keys} for n in names}
    cpu_share = {n: {k: med(n, k, lambda r: r.get("serverCpuShare")) for k in keys} for n in names}

    def peak(name: str, tool: str) -> tuple[float | None, str]:
        options = [(value, k) for k in keys if k.startswith(tool + " ") for value in [rps[name][k]] if value]
        return max(options) if options else (None, "")

    peaks = {tool: {n: peak(n, tool) for n in names} for tool in tools}
    data.update(rps=rps, p50=p50, p99=p99, serverCpuUsPerRequest=cpu_us, serverCpuShare=cpu_share,
                peaks={tool: {n: {"rps": v, "at": k} for n, (v, k) in p.items()} for tool, p in peaks.items()},
                problems=problems)
    labels = {"fake": "fake (rescale-mock serve)", "hello": "hello (bare Flask, same server)",
              "prism": f"Prism {prism_version or ''} (default)", "prism -v error": "Prism -v error (no request log)"}

    result.section(f"throughput, req/s (median of {rounds} rounds of {duration:g} s after {warmup:g} s warm-up)")
    for tool in tools:
        for n in names:
            value, at = peaks[tool][n]
            detail = ", ".join(f"c={k.split('c=')[1]}: {fmt(rps[n][k], 0)}" for k in keys if k.startswith(tool + " "))
            result.row(f"{tool}: {labels.get(n, n)}", fmt(value, 0, " req/s"), f"best of {detail}")
    result.section("ratios of the best throughputs")
    for tool in tools:
        fake_rps = peaks[tool]["fake"][0]
        for n in names[1:]:
            goal = {"hello": f"goal >= {HELLO_GOAL}x", "prism": f"goal >= {PRISM_GOAL}x"}.get(n, "")
            result.row(f"{tool}: fake / {n}", fmt(ratio(fake_rps, peaks[tool][n][0]), 2, "x"), goal)
    result.section("latency, ms (p50 / p99) and the server's CPU per request")
    for key in keys:
        for n in names:
            result.row(f"{key}: {n}", f"{fmt(p50[n][key], 2)} / {fmt(p99[n][key], 2)}",
                       f"server CPU {fmt(cpu_us[n][key], 0)} us/req, {fmt((cpu_share[n][key] or 0) * 100, 0)}% of a core")

    result.section("where the fake's time goes (WSGI app called in-process, no server)")
    result.row("fake app, per request", fmt(inproc["fakeUs"], 0, " us"), f"{fmt(1e6 / inproc['fakeUs'], 0)} req/s "
               "on one core at most, before any server cost")
    validate_us = inproc["stagesValidatedUs"]["validate"]
    result.row("  with --validate-responses", fmt(inproc["fakeValidatedUs"], 0, " us"),
               f"as the pytest plugin's fakes run: {validate_us:.0f} us of it validating the response (jsonschema)")
    result.row("hello app, per request", fmt(inproc["helloUs"], 0, " us"))
    stage_us = inproc["stagesUs"]
    for name, label in profile_request.STAGES + profile_request.REST:
        if name == "validate":
            continue
        result.row(f"  {label}", fmt(stage_us[name], 0, " us"), f"{stage_us[name] / stage_us['total']:.0%}")
    key_c1 = f"{primary} c=1"  # one connection: the least contention
    served_fake_cpu = cpu_us.get("fake", {}).get(key_c1)
    served_hello_cpu = cpu_us.get("hello", {}).get(key_c1)
    if served_fake_cpu and served_hello_cpu:
        result.row("served: server CPU per request, fake", fmt(served_fake_cpu, 0, " us"),
                   f"app {inproc['fakeUs']:.0f} us + server/socket ~{served_fake_cpu - inproc['fakeUs']:.0f} us ({key_c1})")
        result.row("served: server CPU per request, hello", fmt(served_hello_cpu, 0, " us"),
                   f"app {inproc['helloUs']:.0f} us + server/socket ~{served_hello_cpu - inproc['helloUs']:.0f} us")

    # -- goals
    gen_note = f"{primary}" + ("" if primary == "wrk" else " (wrk not on PATH: the Python generator)")
    fake_peak, fake_at = peaks[primary]["fake"]
    hello_peak, hello_at = peaks[primary].get("hello", (None, ""))
    hello_ratio = ratio(fake_peak, hello_peak)
    why_hello = ""
    if hello_ratio is not None and hello_ratio < HELLO_GOAL:
        top = sorted(((stage_us[k], lbl) for k, lbl in profile_request.STAGES + profile_request.REST if k != "validate"),
                     reverse=True)[:3]
        why_hello = (f"; the server is the bottleneck: one process under one GIL, busy "
                     f"{fmt((cpu_share['fake'].get(fake_at) or 0) * 100, 0)}% of a core; its app alone costs "
                     f"{inproc['fakeUs']:.0f} us/request vs {inproc['helloUs']:.0f} us for hello (largest: "
                     + ", ".join(f"{lbl.split(':')[0].split(' (')[0]} {us:.0f} us" for us, lbl in top)
                     + f"), server CPU {fmt(served_fake_cpu, 0)} vs {fmt(served_hello_cpu, 0)} us/request served")
    result.goals.append(Goal(
        f"fake >= {HELLO_GOAL}x the bare Flask app under the same server",
        "GAP" if hello_ratio is None or hello_ratio < HELLO_GOAL else "PASS",
        (f"{fmt(fake_peak, 0)} vs {fmt(hello_peak, 0)} req/s = {fmt(hello_ratio, 2)}x ({gen_note})" + why_hello)
        if hello_ratio is not None else f"not measured: {problems.get('hello', 'no result')}",
        brief=(f"{fmt(hello_ratio, 2)}x: the fake is CPU-bound in one process, {fmt(served_fake_cpu, 0)} vs "
               f"{fmt(served_hello_cpu, 0)} us of server CPU per request; its app alone costs {inproc['fakeUs']:.0f} "
               f"us vs {inproc['helloUs']:.0f} us (spec-shaped response, spec validation of parameters, auth, "
               "SQLite reads, on werkzeug)") if why_hello else ""))
    prism_peak, prism_at = peaks[primary].get("prism", (None, ""))
    prism_ratio = ratio(fake_peak, prism_peak)
    quiet = peaks[primary].get("prism -v error", (None, ""))[0]
    if prism_ratio is None:
        result.goals.append(Goal(f"fake >= {PRISM_GOAL}x Prism", "GAP",
                                 f"Prism not measured: {problems.get('prism', 'no result')}"))
    else:
        detail = f"{fmt(fake_peak, 0)} vs {fmt(prism_peak, 0)} req/s = {prism_ratio:.2f}x ({gen_note})"
        if quiet:
            detail += f"; vs Prism without its request log {fmt(quiet, 0)} req/s = {ratio(fake_peak, quiet):.2f}x"
        if prism_ratio < PRISM_GOAL:
            detail += (f"; Prism (node, one event loop) costs {fmt(cpu_us['prism'].get(prism_at), 0)} us of CPU per "
                       f"request to answer a static example, the fake {fmt(cpu_us['fake'].get(fake_at), 0)} us to "
                       "authenticate, load and compute a live job")
        brief = ""
        if prism_ratio < PRISM_GOAL:
            brief = (f"{prism_ratio:.2f}x vs Prism as it starts by default"
                     + (f", {ratio(fake_peak, quiet):.2f}x vs Prism with its request log off" if quiet else "")
                     + f": the fake spends {fmt(cpu_us['fake'].get(fake_at), 0)} us of CPU per request, Prism "
                     f"{fmt(cpu_us['prism'].get(prism_at), 0)} us; {PRISM_GOAL:g}x needs at most "
                     f"{1e6 / (PRISM_GOAL * (prism_peak or 1)):.0f} us per request on one core, and the fake's app "
                     f"alone takes {inproc['fakeUs']:.0f} us before the server's share")
        result.goals.append(Goal(f"fake >= {PRISM_GOAL}x Prism mocking the same spec",
                                 "PASS" if prism_ratio >= PRISM_GOAL else "GAP", detail, brief=brief))

    result.goals.append(Goal(
        "Prism is installed by the benchmark's own set-up step (npm into bench/.node)",
        "PASS" if prism_version else "GAP", prism_setup if prism_version else f"not installed: {prism_setup}"))

    # -- headline (the summary and the README)
    def lat(name: str, key: str) -> str:
        return f"{fmt(p50.get(name, {}).get(key), 2)} / {fmt(p99.get(name, {}).get(key), 2)}"

    result.headline_row(f"GET job, fake vs bare Flask on the same server ({primary})",
                        f"{fmt(fake_peak, 0)} vs {fmt(hello_peak, 0)} req/s = {fmt(hello_ratio, 2)}x",
                        f">= {HELLO_GOAL}x: {'PASS' if hello_ratio and hello_ratio >= HELLO_GOAL else 'GAP'}")
    result.headline_row(f"GET job, fake vs Prism {prism_version or ''} ({primary})",
                        f"{fmt(fake_peak, 0)} vs {fmt(prism_peak, 0)} req/s = {fmt(prism_ratio, 2)}x",
                        f">= {PRISM_GOAL}x: {'PASS' if prism_ratio and prism_ratio >= PRISM_GOAL else 'GAP'}")
    if quiet:
        result.headline_row("GET job, fake vs Prism -v error (no request log)",
                            f"{fmt(fake_peak, 0)} vs {fmt(quiet, 0)} req/s = {fmt(ratio(fake_peak, quiet), 2)}x")
    result.headline_row("GET job latency p50 / p99 at 1 connection, ms",
                        ", ".join(f"{n} {lat(n, key_c1)}" for n in names))
    result.headline_row("server CPU per request (1 connection)",
                        " / ".join(f"{n} {fmt(cpu_us[n].get(key_c1), 0)}" for n in names) + " us")
    result.headline_row("fake's WSGI app alone (no server): plain / validated; hello",
                        f"{inproc['fakeUs']:.0f} / {inproc['fakeValidatedUs']:.0f} us; {inproc['helloUs']:.0f} us")

    # -- notes
    for name, check in data["checks"].items():
        if check["withToken"][0] != 200:
            result.notes.append(f"{name} answered {check['withToken'][0]} with the token: its numbers are not a job read")
    if "prism" in data["checks"]:
        result.notes.append(
            f"Prism answers the spec's example for any id ({data['checks']['prism']['withToken'][1]} bytes; the fake's "
            f"job is {data['checks']['fake']['withToken'][1]} bytes) and checks only that the Authorization header is "
            f"there (without it: {data['checks']['prism']['withoutToken'][0]}); it keeps no state")
    for name, problem in problems.items():
        result.notes.append(f"{name}: {problem}")
    bad = {f"{n} {k}": sum(r.get("bad", 0) for r in rs) for n in names for k, rs in runs[n].items()}
    if any(bad.values()):
        result.notes.append("non-2xx answers: " + ", ".join(f"{k}: {v}" for k, v in bad.items() if v))
    if primary != "wrk":
        result.notes.append("wrk is not on PATH (e.g. `apt-get install wrk`): measured with bench.loadgen only")
    start_load, end_load = data["loadavgStart"], data.get("loadavgEnd")
    if start_load and start_load[0] > 0.5:
        result.notes.append(f"the machine was not idle: load average {start_load[0]:.2f} at the start"
                            + (f", {end_load[0]:.2f} at the end" if end_load else ""))
    spread = {n: [r.get("requestsPerSecond") or 0.0 for r in runs[n].get(f"{primary} c=8", [])] for n in names}
    noisy = [f"{n} {min(v):.0f}-{max(v):.0f}" for n, v in spread.items() if len(v) > 1 and min(v) > 0
             and max(v) / min(v) > 1.3]
    if noisy:
        result.notes.append(f"round-to-round spread above 30% ({primary} c=8, req/s): " + ", ".join(noisy))
    return result
