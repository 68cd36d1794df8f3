"""Job lifecycle: create -> Completed -> list outputs -> download the log, as a test suite drives it.

One lifecycle, timed from the first request to the last byte of the log:
  POST /api/v2/jobs/ (201), POST /api/v2/jobs/{id}/submit/ (200), POST /_fake/clock/advance/ {"seconds": 120}
  (manual clock: the default job completes 70 fake seconds after submission), GET /api/v2/jobs/{id}/statuses/
  (newest must be Completed), GET /api/v2/jobs/{id}/files/ (process_output.log), GET /api/v2/files/{id}/contents/.

Ways, all on a manual clock, one tenant each, lifecycles back to back, median and p95 reported:
- in-process   `rescale_mock.create_app(Config(clock_mode="manual", ...))` with Flask's test client (no socket)
- HTTP         `rescale-mock serve --clock-mode manual` in a child process, a keep-alive requests.Session
and each again with `--validate-responses` / `Config(validate_responses=True)`: what the pytest plugin's fixtures
run (every response checked against the spec).
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import requests

from rescale_mock import create_app
from rescale_mock.config import Config

from .common import Goal, Result, ServedFake, Settings, fmt, log
from .profile_request import JOB, KEY

STEPS = ["create", "submit", "advance", "statuses", "outputs", "download"]
ADVANCE_SECONDS = 120


class TestClientWay:
    def __init__(self, validate: bool) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="rescale-bench-lifecycle-"))
        self.app = create_app(Config(data_dir=self.data_dir, clock_mode="manual", api_keys=(KEY,),
                                     validate_responses=validate))
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Token {KEY}"}

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.client.post(path, json=body, headers=self.headers)
        return response.status_code, response.get_json(silent=True)

    def get(self, path: str, raw: bool = False) -> tuple[int, Any]:
        response = self.client.get(path, headers=self.headers)
        return response.status_code, response.get_data() if raw else response.get_json(silent=True)

    def close(self) -> None:
        self.app.extensions["rescale_mock"].close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class HttpWay:
    def __init__(self, validate: bool) -> None:
        self.fake = ServedFake("--clock-mode", "manual", *(["--validate-responses"] if validate else []))
        self.session = requests.Session()
        self.session.headers.update(self.fake.headers)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        response = self.session.post(self.fake.url(path), json=body, timeout=30)
        return response.status_code, response.json() if response.content else None

    def get(self, path: str, raw: bool = False) -> tuple[int, Any]:
        response = self.session.get(self.fake.url(path), timeout=30)
        return response.status_code, response.content if raw else response.json()

    def close(self) -> None:
        self.session.close()
        self.fake.close()


def lifecycle(way: Any) -> dict[str, Any]:
    marks = [time.perf_counter()]
    status, job = way.post("/api/v2/jobs/", JOB)
    assert status == 201, (status, job)
    marks.append(time.perf_counter())
    status, _ = way.post(f"/api/v2/jobs/{job['id']}/submit/")
    assert status == 200, status
    marks.append(time.perf_counter())
    status, _ = way.post("/_fake/clock/advance/", {"seconds": ADVANCE_SECONDS})
    assert status == 200, status
    marks.append(time.perf_counter())
    status, page = way.get(f"/api/v2/jobs/{job['id']}/statuses/")
    assert status == 200 and page["results"][0]["status"] == "Completed", (status, page)
    marks.append(time.perf_counter())
    status, files = way.get(f"/api/v2/jobs/{job['id']}/files/")
    logs = [f for f in files["results"] if f["name"] == "process_output.log"]
    assert status == 200 and logs, (status, files)
    marks.append(time.perf_counter())
    status, text = way.get(f"/api/v2/files/{logs[0]['id']}/contents/", raw=True)
    assert status == 200 and b"hello" in text, (status, text[:200])
    marks.append(time.perf_counter())
    return {"seconds": marks[-1] - marks[0], "steps": {s: marks[i + 1] - marks[i] for i, s in enumerate(STEPS)},
            "logBytes": len(text)}


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(settings: Settings) -> Result:
    count = 40 if settings.quick else 300
    warm = 3
    result = Result("lifecycle", f"job lifecycle: create -> Completed -> outputs -> log, {count} per way"
                                 + (" (--quick)" if settings.quick else ""))
    ways: dict[str, Callable[[], Any]] = {
        "in-process (test client)": lambda: TestClientWay(False),
        "HTTP (rescale-mock serve)": lambda: HttpWay(False),
        "in-process, validated responses": lambda: TestClientWay(True),
        "HTTP, --validate-responses": lambda: HttpWay(True),
    }
    data: dict[str, Any] = {"count": count, "ways": {}}
    result.data = data
    failures: dict[str, str] = {}
    for name, make in ways.items():
        log(f"lifecycle: {name}")
        way = make()
        try:
            for _ in range(warm):
                lifecycle(way)
            runs = [lifecycle(way) for _ in range(count)]
        except Exception as err:  # noqa: BLE001 - reported, not fatal
            failures[name] = f"{type(err).__name__}: {str(err)[:300]}"
            runs = []
        finally:
            way.close()
        totals = [r["seconds"] * 1000 for r in runs]
        data["ways"][name] = {
            "medianMs": statistics.median(totals) if totals else None, "p95Ms": p95(totals),
            "stepsMedianMs": {s: statistics.median(r["steps"][s] * 1000 for r in runs) for s in STEPS} if runs else {},
            "totalsMs": totals,
        }

    result.section("per lifecycle (6 requests), ms: median / p95")
    for name, stats in data["ways"].items():
        steps = stats["stepsMedianMs"]
        result.row(name, f"{fmt(stats['medianMs'], 1)} / {fmt(stats['p95Ms'], 1)}",
                   " ".join(f"{s} {steps[s]:.1f}" for s in STEPS) if steps else failures.get(name, ""))
    base = data["ways"]["in-process (test client)"]["medianMs"]
    http = data["ways"]["HTTP (rescale-mock serve)"]["medianMs"]
    result.section("ratios of medians")
    result.row("HTTP / in-process", fmt(http / base if http and base else None, 2, "x"))
    for plain, checked in (("in-process (test client)", "in-process, validated responses"),
                           ("HTTP (rescale-mock serve)", "HTTP, --validate-responses")):
        a, b = data["ways"][plain]["medianMs"], data["ways"][checked]["medianMs"]
        result.row(f"{checked} / {plain.split(' (')[0]}", fmt(b / a if a and b else None, 2, "x"),
                   "the pytest plugin's fakes validate every response")
    if http:
        result.row("lifecycles per second over HTTP", fmt(1000 / http, 0),
                   f"1000 such lifecycles take ~{http:.0f} s over HTTP, client included")

    for name, stats in data["ways"].items():
        result.headline_row(f"{name}, median / p95", f"{fmt(stats['medianMs'], 1)} / {fmt(stats['p95Ms'], 1)} ms")
    ok = not failures
    result.goals.append(Goal(
        "a job lifecycle runs in-process and over HTTP (median and p95 reported)", "PASS" if ok else "GAP",
        "; ".join(f"{n}: {fmt(s['medianMs'], 1)} ms median, {fmt(s['p95Ms'], 1)} ms p95" for n, s in
                  data["ways"].items() if s["medianMs"]) + ("" if ok else "; failed: " + "; ".join(
                      f"{n}: {e}" for n, e in failures.items()))))
    result.notes.append("no numeric goal in the issue for lifecycles: these are the numbers to compare future runs "
                        "against; Prism cannot run one (it keeps no state: a created job is never found again)")
    return result
