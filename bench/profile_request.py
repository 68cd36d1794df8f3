"""Where the time of one request goes, without a server: the WSGI app called directly in this process.

`python -m bench.profile_request [-n 3000]` prints it for `GET /api/v2/jobs/{id}/` on a Completed job; the
throughput benchmark uses the same functions for its "where the time goes" rows.

- `app_cost`: microseconds per call of `app(environ, start_response)` with the body consumed; no socket, no server.
- `stages`: the same calls with timers around the pipeline's steps (dispatch.py: route, auth, parameters, handler,
  serialize, JSON encode); the rest is werkzeug's request and response, the host guard and the journal (app.ApiFront). The timers are wrappers installed
  on the classes for the measurement only and removed afterwards; they cost well under a microsecond each.
- `profile_top`: cProfile's functions by own time (cProfile inflates small calls, so it shows where, not how much).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import time
from typing import Any, Callable, Iterator

from werkzeug.test import EnvironBuilder

KEY = "bench-key-0123456789abcdef0123456789abcdef"
JOB = {"name": "bench", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                         "command": "echo hello", "hardware": {"coreType": "granite",
                                                                               "coresPerSlot": 2, "walltime": 1}}]}
WsgiApp = Callable[..., Any]


def environ_for(path: str, headers: dict[str, str]) -> dict[str, Any]:
    env = EnvironBuilder(path=path, headers=list(headers.items()), base_url="http://127.0.0.1:8123").get_environ()
    env["wsgi.multithread"] = True
    return env


def call(app: WsgiApp, base: dict[str, Any]) -> tuple[str, bytes]:
    env = dict(base)
    env["wsgi.input"] = io.BytesIO()
    seen: list[str] = []
    body = app(env, lambda status, headers, exc=None: seen.append(status))
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close:
            close()
    return seen[0], data


def app_cost(app: WsgiApp, base: dict[str, Any], n: int) -> float:
    """Median of 5 batches, in microseconds per request."""
    for _ in range(min(200, n)):
        call(app, base)
    batch = max(1, n // 5)
    per: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(batch):
            call(app, base)
        per.append((time.perf_counter() - started) / batch * 1e6)
    return sorted(per)[2]


def completed_job_app(validate: bool = False) -> tuple[Any, str]:
    """The fake in this process with one Completed job (manual clock, advanced past the end); returns (app, job id)."""
    from rescale_mock import create_app
    from rescale_mock.config import Config

    app = create_app(Config(clock_mode="manual", api_keys=(KEY,), validate_responses=validate))
    client = app.test_client()
    headers = {"Authorization": f"Token {KEY}"}
    job_id = client.post("/api/v2/jobs/", json=JOB, headers=headers).get_json()["id"]
    client.post(f"/api/v2/jobs/{job_id}/submit/", headers=headers)
    client.post("/_fake/clock/advance/", json={"seconds": 3600}, headers=headers)
    statuses = client.get(f"/api/v2/jobs/{job_id}/statuses/", headers=headers).get_json()
    assert statuses["results"][0]["status"] == "Completed", statuses
    return app, job_id


STAGES = [
    ("route", "route: the spec's URL map (werkzeug)"),
    ("auth", "auth: key digest + SQLite tenant lookup"),
    ("params", "parameters validated against the spec (jsonschema)"),
    ("handler", "handler: SQLite job load, JSON decode, plan, view"),
    ("serialize", "response shaped from the spec (serialize.py)"),
    ("encode", "JSON encode + Response object"),
    ("validate", "response validated against the spec (--validate-responses)"),
]
REST = [
    ("glue", "dispatcher glue: Admission, Call, body check, views' context"),
    ("wsgi", "werkzeug Request, Response to WSGI, host guard, journal/faults (app.ApiFront)"),
]


@contextlib.contextmanager
def _timers(totals: dict[str, float], app: Any) -> Iterator[None]:
    from rescale_mock import dispatch as dispatch_module
    from rescale_mock.dispatch import Dispatcher

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    saved_class = {name: getattr(Dispatcher, name) for name in ("_route", "_tenant", "_params", "_handler", "_check")}
    saved_module = {name: getattr(dispatch_module, name) for name in ("serialize", "json_response")}
    saved_steps = {name: getattr(Dispatcher, name) for name in ("admit", "respond")}
    original_handler = saved_class["_handler"]
    Dispatcher._route = timed("route", saved_class["_route"])  # type: ignore[method-assign]
    Dispatcher._tenant = timed("auth", saved_class["_tenant"])  # type: ignore[method-assign]
    Dispatcher._params = timed("params", saved_class["_params"])  # type: ignore[method-assign]
    Dispatcher._handler = lambda self, op: timed("handler", original_handler(self, op))  # type: ignore[method-assign]
    dispatch_module.serialize = timed("serialize", saved_module["serialize"])  # type: ignore[attr-defined]
    dispatch_module.json_response = timed("encode", saved_module["json_response"])  # type: ignore[attr-defined]
    Dispatcher._check = timed("validate", saved_class["_check"])  # type: ignore[method-assign]
    for name, fn in saved_steps.items():
        setattr(Dispatcher, name, timed("dispatcher", fn))
    try:
        yield
    finally:
        for name, fn in saved_class.items():
            setattr(Dispatcher, name, fn)
        for name, fn in saved_module.items():
            setattr(dispatch_module, name, fn)
        for name, fn in saved_steps.items():
            setattr(Dispatcher, name, fn)


def stages(app: WsgiApp, base: dict[str, Any], n: int) -> dict[str, float]:
    """Microseconds per request in each step of STAGES and REST, plus `total` (all with the timers on)."""
    totals: dict[str, float] = {}
    with _timers(totals, app):
        for _ in range(min(200, n)):
            call(app, base)
        totals.clear()
        started = time.perf_counter()
        for _ in range(n):
            call(app, base)
        total = time.perf_counter() - started
    per = {name: totals.get(name, 0.0) / n * 1e6 for name, _ in STAGES}
    per["total"] = total / n * 1e6
    dispatcher = totals.get("dispatcher", 0.0) / n * 1e6
    per["glue"] = dispatcher - sum(per[name] for name, _ in STAGES)
    per["wsgi"] = per["total"] - dispatcher
    return per


def profile_top(app: WsgiApp, base: dict[str, Any], n: int, limit: int = 12) -> list[dict[str, Any]]:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call(app, base)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1.0  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.split("site-packages/")[-1].replace(str(sys.prefix), "")
        short = short.split("/work/main/")[-1] if "/work/main/" in short else short
        rows.append({"function": f"{short}:{line}({func})", "calls": ncalls / n, "ownShare": tottime / total,
                     "cumShare": cumtime / total})
    rows.sort(key=lambda r: -r["ownShare"])
    return rows[:limit]


def hello_cost(n: int) -> float:
    from .hello_app import create_hello_app

    return app_cost(create_hello_app(), environ_for("/api/v2/jobs/abc/", {}), n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_request", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=3000)
    args = parser.parse_args(argv)
    app, job_id = completed_job_app()
    base = environ_for(f"/api/v2/jobs/{job_id}/", {"Authorization": f"Token {KEY}"})
    status, body = call(app, base)
    print(f"GET /api/v2/jobs/{job_id}/ -> {status}, {len(body)} bytes")
    print(f"fake app:  {app_cost(app, base, args.n):7.1f} us/request (no server)")
    print(f"hello app: {hello_cost(args.n):7.1f} us/request (no server)")
    per = stages(app, base, args.n)
    for name, label in STAGES + REST:
        print(f"  {per[name]:7.1f} us  {per[name] / per['total']:5.1%}  {label}")
    print(f"  {per['total']:7.1f} us  total (with timers)")
    for row in profile_top(app, base, args.n):
        print(f"  own {row['ownShare']:5.1%}  cum {row['cumShare']:5.1%}  {row['calls']:6.1f}/req  {row['function']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
