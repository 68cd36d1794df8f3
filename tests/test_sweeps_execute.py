"""Parameter sweeps that really run (`serve --execute`, issue 20): each run's command runs in its own work directory
with its processed templates in place, then the post-process script, `slots` runs at a time. End to end over HTTP,
in-process and served; the clock is manual, the waiters' sleep moves it and gives the supervisor a moment of real
time, with bounded timeouts; nothing sleeps blindly."""
from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from rescale_client import RescaleClient, RunProgress
from rescale_mock.testing import Control, Fake, ServedProcess
from .real_runs import processes_with, ticking_sleep


pytestmark = pytest.mark.rescale_mock_execute

DELAY, TIMEOUT = 1.0, 900.0  # fake seconds per poll; at most TIMEOUT of them (about 30 s of real time)
CSV = "speed,label\n1.5,a\n2.25,b\n3,c\n"
TEMPLATE = 'speed=${speed?string("0.00")} label=${label}\n'
PROCESSED = {1: "speed=1.50 label=a\n", 2: "speed=2.25 label=b\n", 3: "speed=3.00 label=c\n"}
ECHO = "cat case/params.txt; cat case/params.txt > echoed.txt"


def sweep(client: RescaleClient, tmp_path: Path, command: str, slots: int = 3) -> str:
    (tmp_path / "params.csv").write_text(CSV)
    (tmp_path / "params.tmpl").write_text(TEMPLATE)
    (tmp_path / "post.sh").write_text("echo post-processed >> echoed.txt\n")
    params = client.upload_file(tmp_path / "params.csv", type_id=3)
    template = client.upload_file(tmp_path / "params.tmpl", type_id=2)
    script = client.upload_file(tmp_path / "post.sh", type_id=4)
    created = client.jobs.create_job(body={"name": "real sweep", "paramFile": {"id": params["id"]}, "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": command,
        "hardware": {"coreType": "emerald", "coresPerSlot": 1, "slots": slots, "walltime": 1},
        "inputFiles": [], "postProcessScript": {"id": script["id"]}, "postProcessScriptCommand": "sh post.sh",
        "templateTasks": [{"templateFile": {"id": template["id"]}, "processedFilename": "case/params.txt"}]}]})
    client.jobs.submit_job(job_id=created["id"])
    return created["id"]


def wait(client: RescaleClient, job_id: str, until: str | None = None) -> Any:
    return client.wait_for_job(job_id, until=until, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)


def run_files(client: RescaleClient, job_id: str, run: int) -> dict[str, dict[str, Any]]:
    return {f["relativePath"]: f for f in client.runs.iter_job_run_files(job_id=job_id, run_id=str(run))}


def text(client: RescaleClient, file: dict[str, Any]) -> str:
    return "".join(client.files.get_file_lines(file_id=file["id"])["lines"])


def runs(client: RescaleClient, job_id: str) -> list[dict[str, Any]]:
    return list(client.runs.iter_job_runs(job_id=job_id))


def test_each_run_runs_with_its_processed_template_then_the_post_process_script(fake: Fake, client: RescaleClient,
                                                                               tmp_path: Path) -> None:
    job_id = sweep(client, tmp_path, ECHO)
    result = wait(client, job_id)
    assert (result.status, result.succeeded) == ("Completed", True)
    listed = runs(client, job_id)
    assert [r["id"] for r in listed] == ["1", "2", "3"]
    assert all(r["dateStarted"] and r["dateCompleted"] and r["outputFileCount"] == 3 for r in listed)
    assert [v["displayValue"] for v in listed[1]["variables"]] == ["2.25", "b"]
    for number, processed in PROCESSED.items():
        found = run_files(client, job_id, number)
        assert set(found) == {"process_output.log", "echoed.txt", "case/params.txt"}  # inputs are not outputs
        assert text(client, found["echoed.txt"]) == processed + "post-processed\n"
        assert text(client, found["case/params.txt"]) == processed
        log = text(client, found["process_output.log"])
        assert log.startswith(processed) and "Command exited with status 0" in log
        content = requests.get(fake.url(f"/api/v2/files/{found['echoed.txt']['id']}/contents/"),
                               headers=fake.headers, timeout=10).content
        assert found["echoed.txt"]["fileChecksums"][0]["fileHash"] == hashlib.sha512(content).hexdigest()
    all_files = {f["path"] for f in client.jobs.iter_job_files(job_id=job_id)}
    assert {p.split("/output/", 1)[1].split("/", 1)[1] for p in all_files} >= {"run1/echoed.txt", "run3/echoed.txt"}


def test_slots_bound_how_many_runs_go_at_a_time(client: RescaleClient, tmp_path: Path) -> None:
    job_id = sweep(client, tmp_path, "sleep 0.3; " + ECHO, slots=2)
    seen: list[RunProgress] = []
    progress = client.wait_for_runs(job_id, 3, delay=DELAY, timeout=TIMEOUT, on_progress=seen.append)
    assert progress == RunProgress(3, 3, 3)
    assert max(p.running for p in seen) <= 2
    listed = runs(client, job_id)
    for run in listed:  # when any run started, at most two (itself included) were running
        at = run["dateStarted"]
        assert sum(r["dateStarted"] <= at < r["dateCompleted"] for r in listed) <= 2
    third = listed[2]
    assert third["dateStarted"] >= min(listed[0]["dateCompleted"], listed[1]["dateCompleted"])
    assert wait(client, job_id).succeeded


def test_the_runners_parallel_limit_bounds_the_slots_too(fake: Fake, client: RescaleClient, tmp_path: Path) -> None:
    fake.control.set_execute(True, maxParallel=1)
    job_id = sweep(client, tmp_path, "sleep 0.2; " + ECHO, slots=3)
    seen: list[RunProgress] = []
    assert client.wait_for_runs(job_id, 3, delay=DELAY, timeout=TIMEOUT, on_progress=seen.append).completed == 3
    assert max(p.running for p in seen) == 1
    listed = runs(client, job_id)
    assert all(a["dateCompleted"] <= b["dateStarted"] for a, b in zip(listed, listed[1:]))  # one after another


def test_the_walltime_ends_the_sweep(fake: Fake, client: RescaleClient, tmp_path: Path) -> None:
    job_id = sweep(client, tmp_path, "sleep inf", slots=2)
    assert wait(client, job_id, until="Executing").status == "Executing"
    fake.control.advance(3600)  # the job's one hour
    result = wait(client, job_id)
    assert (result.status, result.reason) == ("Completed", "Job exceeded its walltime")
    listed = runs(client, job_id)
    assert [bool(r["dateCompleted"]) for r in listed] == [True, True, False] and listed[2]["dateStarted"] is None
    assert "Job exceeded its walltime" in text(client, run_files(client, job_id, 2)["process_output.log"])


def test_a_failing_run_fails_the_job_and_the_others_still_run(client: RescaleClient, tmp_path: Path) -> None:
    job_id = sweep(client, tmp_path, "if grep -q label=b case/params.txt; then echo failing; exit 4; fi; " + ECHO)
    result = wait(client, job_id)
    assert (result.status, result.reason, result.succeeded) == ("Completed", None, False)
    assert all(r["dateCompleted"] for r in runs(client, job_id))
    failed = run_files(client, job_id, 2)
    assert set(failed) == {"process_output.log", "case/params.txt", "echoed.txt"}
    assert text(client, failed["echoed.txt"]) == "post-processed\n"  # the post-process command runs whatever the exit
    assert "Command exited with status 4" in text(client, failed["process_output.log"])
    assert text(client, run_files(client, job_id, 3)["echoed.txt"]) == PROCESSED[3] + "post-processed\n"


def test_stop_mid_sweep_ends_the_running_run_and_never_starts_the_rest(fake: Fake, client: RescaleClient,
                                                                       tmp_path: Path) -> None:
    job_id = sweep(client, tmp_path, "echo started; sleep inf", slots=1)
    assert wait(client, job_id, until="Executing").status == "Executing"
    deadline = time.monotonic() + 20
    lines: list[str] = []
    while "started" not in lines and time.monotonic() < deadline:  # a bounded poll of the live log
        try:
            lines = client.runs.tail_job_run_file(job_id=job_id, run_id="1", path="process_output.log",
                                                  lines=10)["lines"]
        except Exception:  # noqa: BLE001 - 404 until the run has started
            lines = []
        time.sleep(0.05)
    assert lines == ["started"]
    live = client.runs.tail_job_run_file(job_id=job_id, run_id="1", path="case/params.txt", lines=5)["lines"]
    assert live == [PROCESSED[1].strip()]
    client.jobs.stop_job(job_id=job_id)
    result = wait(client, job_id)
    assert (result.status, result.reason) == ("Completed", "User Terminated")
    listed = runs(client, job_id)
    assert listed[0]["dateCompleted"] and [r["dateStarted"] for r in listed[1:]] == [None, None]
    log = text(client, run_files(client, job_id, 1)["process_output.log"])
    assert "Job stopped by the user" in log and "Command exited with status 143" in log
    assert run_files(client, job_id, 2) == {}
    assert fake.control.execution()["running"] == 0


def test_a_restart_mid_sweep_ends_the_running_run_as_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_MOCK_SANDBOX", "none")  # commands outlive a killed server: found by their token
    marker = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    key, args = "restart-key-0123456789", ("--clock-mode", "manual", "--execute")
    server = ServedProcess(tmp_path / "data", (key,), *args)
    try:
        control = Control(server.base_url, key)
        with RescaleClient(server.base_url, key, progress=False,
                           sleep=ticking_sleep(control)) as client:
            job_id = sweep(client, tmp_path, f"cat case/params.txt > partial.txt; sleep {marker}", slots=1)
            assert wait(client, job_id, until="Executing").status == "Executing"
            deadline = time.monotonic() + 20
            while not processes_with(f"sleep\0{marker}") and time.monotonic() < deadline:
                time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)  # a crash: nothing is cleaned up by the server itself
        server.process.wait(timeout=10)
        assert processes_with(f"sleep\0{marker}")
        server = ServedProcess(tmp_path / "data", (key,), *args)
        assert not processes_with(f"sleep\0{marker}")  # the restart killed the run's leftovers
        control = Control(server.base_url, key)
        with RescaleClient(server.base_url, key, progress=False,
                           sleep=ticking_sleep(control)) as client:
            result = wait(client, job_id)
            assert result.status == "Completed" and "restarted" in result.reason
            listed = runs(client, job_id)
            assert listed[0]["dateCompleted"] and [r["dateStarted"] for r in listed[1:]] == [None, None]
            found = run_files(client, job_id, 1)
            assert set(found) == {"process_output.log", "partial.txt", "case/params.txt"}
            assert text(client, found["partial.txt"]) == PROCESSED[1]
            assert "its process was lost" in text(client, found["process_output.log"])
    finally:
        server.close()
