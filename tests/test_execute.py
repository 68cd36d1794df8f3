"""Real runs (`serve --execute`, issue 14): the seed notebook's jobs with its real inputs run their commands on this
machine, end to end over HTTP, in-process and against a served process. The clock is manual: the waiters' sleep
moves it and gives the supervisor a moment of real time, with a bounded timeout; nothing sleeps blindly."""
from __future__ import annotations

import hashlib
import os
import signal
import struct
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from rescale_client import RescaleClient
from rescale_mock.runner import sandbox
from rescale_mock.testing import Control, Fake, ServedProcess

from .notebook import CALCULATE_PI as _SEEDS_PI
from .real_runs import processes_with, ticking_sleep

pytestmark = pytest.mark.rescale_mock_execute

# The notebook's script: estimates pi from range.inp, "stored as text in pi_estimate.res and in a binary format in
# pi_estimate.bin" (cell 25).
CALCULATE_PI = _SEEDS_PI.replace('print(pi)\n', 'with open("pi_estimate.bin", "wb") as f:\n'
                                 '    f.write(struct.pack("<d", pi))\nprint(pi)\n').replace("import sys",
                                                                                           "import struct\nimport sys")
RANGE = "100000\n"
PI = 4 * sum((-1) ** k / (2 * k + 1) for k in range(100000))
WALLTIME_REASON = "Job exceeded its walltime"
DELAY, TIMEOUT = 1.0, 900.0  # fake seconds per poll; at most TIMEOUT of them (about 30 s of real time)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "job_inputs"
    folder.mkdir()
    (folder / "calculate_pi.py").write_text(CALCULATE_PI)
    (folder / "range.inp").write_text(RANGE)
    return folder


def job(client: RescaleClient, command: str, files: list[Any] = (), submit: bool = True, **analysis: Any) -> str:
    hardware = analysis.pop("hardware", {"coreType": "granite", "coresPerSlot": 2, "walltime": 1})
    created = client.jobs.create_job(body={"name": "real run", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": command, "hardware": hardware,
        "inputFiles": [f if "decompress" in f else {"id": f["id"]} for f in files], **analysis}]})
    if submit:
        client.jobs.submit_job(job_id=created["id"])
    return created["id"]


def wait(client: RescaleClient, job_id: str, until: str | None = None) -> Any:
    return client.wait_for_job(job_id, until=until, delay=DELAY, timeout=TIMEOUT, raise_on_failure=False)


def outputs(client: RescaleClient, job_id: str) -> dict[str, dict[str, Any]]:
    return {f["relativePath"]: f for f in client.jobs.iter_job_files(job_id=job_id)}


def text(client: RescaleClient, file: dict[str, Any]) -> str:
    return "".join(client.files.get_file_lines(file_id=file["id"])["lines"])


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_the_notebooks_pi_job_leaves_its_outputs_with_checksums(fake: Fake, client: RescaleClient, inputs: Path,
                                                                   tmp_path: Path) -> None:
    files = [client.upload_file(inputs / "calculate_pi.py"), client.upload_file(inputs / "range.inp")]
    job_id = job(client, "python3 calculate_pi.py range.inp", files)
    result = wait(client, job_id)
    assert (result.status, result.reason) == ("Completed", "Completed successfully")
    assert result.statuses == ["Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing",
                               "Completed"]
    found = outputs(client, job_id)
    assert set(found) == {"process_output.log", "pi_estimate.res", "pi_estimate.bin"}  # the inputs are not outputs
    assert float(text(client, found["pi_estimate.res"])) == pytest.approx(PI)
    assert text(client, found["process_output.log"]).startswith(f"{PI}\n")
    assert "Command exited with status 0" in text(client, found["process_output.log"])
    for path in client.download_job_outputs(job_id, tmp_path / "job_outputs"):  # the notebook's cells 52-54
        digest = hashlib.sha512(path.read_bytes()).hexdigest()
        assert digest == found[path.relative_to(tmp_path / "job_outputs").as_posix()]["fileChecksums"][0]["fileHash"]
    assert struct.unpack("<d", (tmp_path / "job_outputs" / "pi_estimate.bin").read_bytes()) == (pytest.approx(PI),)
    ranged = requests.get(fake.url(f"/api/v2/files/{found['pi_estimate.bin']['id']}/contents/"),
                          headers={**fake.headers, "Range": "bytes=2-5"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == (tmp_path / "job_outputs" / "pi_estimate.bin").read_bytes()[2:6]


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_the_job_without_its_inputs_fails_with_pythons_error_in_the_log(client: RescaleClient) -> None:
    job_id = job(client, "python3 calculate_pi.py range.inp")  # the notebook's first try (cells 32-39)
    result = wait(client, job_id)
    assert (result.status, result.reason, result.succeeded) == ("Completed", None, False)
    log = text(client, client.jobs.iter_job_files(job_id=job_id, search="output").first())
    assert "can't open file" in log and "calculate_pi.py': [Errno 2] No such file or directory" in log
    assert "Command exited with status 2" in log


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_the_zipped_folder_runs_after_cd(client: RescaleClient, inputs: Path) -> None:
    archive = client.upload_directory(inputs)  # the notebook's cell 71: job_inputs.zip
    job_id = job(client, "cd job_inputs; python calculate_pi.py range.inp", [archive])
    assert wait(client, job_id).succeeded
    found = outputs(client, job_id)
    assert set(found) == {"process_output.log", "job_inputs/pi_estimate.res", "job_inputs/pi_estimate.bin"}
    assert float(text(client, found["job_inputs/pi_estimate.res"])) == pytest.approx(PI)


# A stand-in for the notebook's bundled 7za (cell 77): `7za e -mmt16 -aoa testfile.7z` extracts the archive, here a
# gzip stream; uploaded as an input and run as `./7za`, as the notebook does.
SEVEN_ZA = '#!/bin/bash\nset -e\n[ "$1" = e ] && gunzip -c "${@: -1}" > "${4%.7z}"\n'


def test_the_split_archive_is_reassembled_and_its_checksum_read_at_lines_minus_3(client: RescaleClient,
                                                                                   tmp_path: Path) -> None:
    import gzip
    import re

    data = os.urandom(300_000)
    packed = gzip.compress(data)
    parts = []
    for index, start in enumerate(range(0, len(packed), 100_000), 1):
        part = tmp_path / f"testfile.7z.{index:03d}"
        part.write_bytes(packed[start:start + 100_000])
        parts.append(part)
    (tmp_path / "7za").write_text(SEVEN_ZA)
    file_ids = [client.upload_file(p)["id"] for p in [*parts, tmp_path / "7za"]]
    command = ";".join(["cat testfile.7z.* > testfile.7z", "rm testfile.7z.*", "./7za e -mmt16 -aoa testfile.7z",
                        "echo checksum `shasum -a 512 testfile | awk '{print $1}'`", "rm testfile*"])  # cell 80
    job_id = job(client, command, [{"id": i, "decompress": False} for i in file_ids])
    assert wait(client, job_id).succeeded
    output_lines = client.files.get_file_lines(file_id=outputs(client, job_id)["process_output.log"]["id"])["lines"]
    remote_hash = re.match(r".*checksum ([0-9a-f]*)", output_lines[-3]).group(1)
    assert remote_hash == hashlib.sha512(data).hexdigest()
    assert set(outputs(client, job_id)) == {"process_output.log"}  # it removed what it made


def test_sleep_inf_runs_until_stopped_with_202(fake: Fake, client: RescaleClient, api: requests.Session) -> None:
    job_id = job(client, "echo up; sleep inf")  # the notebook's quasi-persistent cluster (cells 63-68)
    assert wait(client, job_id, until="Executing").status == "Executing"
    assert len(client.jobs.list_job_instances(job_id=job_id)["results"]) == 1
    tail = wait_for_tail(client, job_id, "up")
    assert tail == ["up"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).status_code == 202
    result = wait(client, job_id)
    assert (result.status, result.reason) == ("Completed", "User Terminated")
    assert result.statuses[-2:] == ["Stopping", "Completed"]
    log = text(client, outputs(client, job_id)["process_output.log"])
    assert "Job stopped by the user" in log and "Command exited with status 143" in log


def wait_for_tail(client: RescaleClient, job_id: str, line: str, timeout: float = 20.0) -> list[str]:
    """The live log as the run writes it (a bounded poll of real time: the command prints when it prints)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = client.runs.tail_job_run_file(job_id=job_id, run_id="1", path="process_output.log", lines=10)["lines"]
        if line in lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_a_failing_command_ends_completed_with_its_status_in_the_log(client: RescaleClient) -> None:
    job_id = job(client, "echo before; exit 3; echo never")
    result = wait(client, job_id)
    assert (result.status, result.reason, result.succeeded) == ("Completed", None, False)
    log = text(client, outputs(client, job_id)["process_output.log"])
    assert log.startswith("before\n") and "never" not in log and "Command exited with status 3" in log


def test_the_walltime_on_the_clock_kills_the_command(fake: Fake, client: RescaleClient) -> None:
    job_id = job(client, "sleep inf")
    assert wait(client, job_id, until="Executing").status == "Executing"
    fake.control.advance(3600)  # the job's one hour
    result = wait(client, job_id)
    assert (result.status, result.reason) == ("Completed", WALLTIME_REASON)
    assert "Job exceeded its walltime" in text(client, outputs(client, job_id)["process_output.log"])


def test_a_graceful_stop_keeps_the_files_written_so_far(fake: Fake, client: RescaleClient,
                                                         api: requests.Session) -> None:
    command = ("echo partial > result.txt; trap 'echo got SIGTERM >> result.txt; exit 0' TERM; echo ready; "
               "while true; do sleep 0.05; done")
    job_id = job(client, command)
    wait(client, job_id, until="Executing")
    assert "ready" in wait_for_tail(client, job_id, "ready")  # the trap is set
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).status_code == 202
    assert wait(client, job_id).reason == "User Terminated"
    assert text(client, outputs(client, job_id)["result.txt"]) == "partial\ngot SIGTERM\n"


@pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # and with its blobs in S3
def test_decompress_false_keeps_the_archive_and_tar_gz_is_unpacked(client: RescaleClient, inputs: Path) -> None:
    kept = client.upload_directory(inputs, name="kept.zip")
    unpacked = client.upload_directory(inputs, format="tar.gz", name="unpacked.tar.gz")
    job_id = job(client, "ls -R . > listing.txt", [{"id": kept["id"], "decompress": False}, unpacked])
    assert wait(client, job_id).succeeded
    listing = text(client, outputs(client, job_id)["listing.txt"]).split()
    assert "kept.zip" in listing and "unpacked.tar.gz" not in listing
    assert "./job_inputs:" in listing and "calculate_pi.py" in listing


def test_env_vars_pre_and_post_commands_in_a_clean_environment(fake: Fake, client: RescaleClient) -> None:
    command = 'echo "$GREETING with $RESCALE_CORES_PER_SLOT cores" >> steps.txt; env > env.txt; touch /etc/escaped'
    job_id = job(client, command, envVars={"GREETING": "hello"}, preProcessScriptCommand="echo pre > steps.txt",
                 postProcessScriptCommand="echo post >> steps.txt")
    wait(client, job_id)
    found = outputs(client, job_id)
    assert text(client, found["steps.txt"]) == "pre\nhello with 2 cores\npost\n"
    env = dict(line.split("=", 1) for line in text(client, found["env.txt"]).splitlines() if "=" in line)
    assert env["GREETING"] == "hello" and env["HOME"].endswith("/home") and "VIRTUAL_ENV" not in env
    assert not any(fake.api_key in value for value in env.values())
    if fake.control.execution()["sandbox"] == "bubblewrap":  # outside its work directory nothing is writable
        assert "Read-only file system" in text(client, found["process_output.log"])
        assert not Path("/etc/escaped").exists()


def test_jobs_on_a_persistent_cluster_run_one_after_another(fake: Fake, client: RescaleClient,
                                                            api: requests.Session) -> None:
    cluster = api.post(fake.url("/api/v3/clusters/"), json={
        "name": "persistent", "hardware": {"coresPerSlot": 2, "slots": 1, "coreType": {"code": "granite"}}}).json()
    assert api.post(fake.url(f"/api/v3/clusters/{cluster['id']}/start/")).status_code == 204
    first = job(client, "sleep 0.3; echo one > first.txt", submit=False)
    second = job(client, "cat first.txt > second.txt; echo two >> second.txt", submit=False)
    for job_id in (first, second):
        assert api.post(fake.url(f"/api/v3/clusters/{cluster['id']}/jobs/"), json={"id": job_id, "submit": True}).ok
    assert wait(client, second).succeeded and wait(client, first).succeeded
    assert set(outputs(client, first)) == {"process_output.log", "first.txt"}
    assert set(outputs(client, second)) == {"process_output.log", "second.txt"}  # the cluster's work dir is shared
    assert text(client, outputs(client, second)["second.txt"]) == "one\ntwo\n"
    assert client.wait_for_cluster(cluster["id"], delay=DELAY, timeout=TIMEOUT).status == "Started"  # keeps running


def test_jobs_above_the_limit_wait_in_queued(fake: Fake, client: RescaleClient, api: requests.Session) -> None:
    assert fake.control.set_execute(True, maxParallel=1)["maxParallel"] == 1
    blocking = job(client, "sleep inf")
    assert wait(client, blocking, until="Executing").status == "Executing"
    queued = job(client, "echo second")
    fake.control.advance(600)
    assert client.jobs.list_job_statuses(job_id=queued)["results"][0]["status"] == "Queued"
    assert fake.control.execution()["waiting"] == 1
    api.post(fake.url(f"/api/v2/jobs/{blocking}/stop/"))
    result = wait(client, queued)
    assert result.succeeded and "Queued" in result.statuses
    assert text(client, outputs(client, queued)["process_output.log"]).startswith("second\n")


def test_the_simulation_stays_the_default(fake: Fake, client: RescaleClient) -> None:
    fake.control.set_execute(False)
    job_id = job(client, "python3 calculate_pi.py range.inp")
    assert wait(client, job_id).succeeded  # played, not run: no Python error
    assert set(outputs(client, job_id)) == {"process_output.log"}


def test_a_server_without_execute_refuses_to_turn_it_on(tmp_path: Path) -> None:
    from rescale_mock import Config, create_app

    app = create_app(Config(data_dir=tmp_path))
    control = app.test_client()
    assert control.get("/_fake/execute/").get_json()["allowed"] is False
    refused = control.put("/_fake/execute/", json={"enabled": True})
    assert refused.status_code == 400 and "--execute" in refused.get_json()["enabled"][0]
    app.extensions["rescale_mock"].close()




@pytest.mark.served
@pytest.mark.parametrize("box", ["bubblewrap", "none"])
def test_a_restart_mid_run_ends_the_job_as_a_failed_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        box: str) -> None:
    if box == "none":  # commands outlive a killed server: the restart finds them by their token and kills them
        monkeypatch.setenv("RESCALE_MOCK_SANDBOX", "none")
    elif sandbox.bwrap() is None:
        pytest.skip("bubblewrap is not usable here")
    marker = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    args = ("--clock-mode", "manual", "--execute")
    server = ServedProcess(tmp_path / "data", ("restart-key-0123456789",), *args)
    try:
        control = Control(server.base_url, "restart-key-0123456789")
        with RescaleClient(server.base_url, "restart-key-0123456789", progress=False,
                           sleep=ticking_sleep(control)) as client:
            job_id = job(client, f"echo written > partial.txt; echo started; sleep {marker}; echo never")
            assert wait(client, job_id, until="Executing").status == "Executing"
            assert "started" in wait_for_tail(client, job_id, "started")
        server.process.send_signal(signal.SIGKILL)  # a crash: nothing is cleaned up by the server itself
        server.process.wait(timeout=10)
        if box == "none":
            assert processes_with(f"sleep\0{marker}")  # bash died with the server, its child did not
        else:  # the sandbox dies with the server, and everything in it (a bounded wait for the kernel)
            deadline = time.monotonic() + 10
            while processes_with(f"sleep\0{marker}") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not processes_with(f"sleep\0{marker}")
        server = ServedProcess(tmp_path / "data", ("restart-key-0123456789",), *args)
        assert not processes_with(f"sleep\0{marker}")  # no orphan once the server is back
        control = Control(server.base_url, "restart-key-0123456789")
        with RescaleClient(server.base_url, "restart-key-0123456789", progress=False,
                           sleep=ticking_sleep(control)) as client:
            result = wait(client, job_id)
            assert result.status == "Completed" and result.reason.startswith("A run failed")
            assert "restarted" in result.reason
            found = outputs(client, job_id)
            assert set(found) == {"process_output.log", "partial.txt"}
            assert "its process was lost" in text(client, found["process_output.log"])
    finally:
        server.close()


def test_without_a_sandbox_limits_and_process_groups_still_hold(rescale_mock: Fake,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bwrap", lambda: None)
    assert rescale_mock.control.execution()["sandbox"] == "none"
    with RescaleClient(rescale_mock.base_url, rescale_mock.api_key, progress=False,
                       sleep=ticking_sleep(rescale_mock.control)) as client:
        marker = f"{os.getpid()}{time.monotonic_ns() % 100000}"
        command = f"ulimit -n > limits.txt; ulimit -c >> limits.txt; (sleep {marker} &); echo done"
        job_id = job(client, command)
        assert wait(client, job_id).succeeded
        assert text(client, outputs(client, job_id)["limits.txt"]).split() == ["4096", "0"]
    assert not processes_with(f"sleep\0{marker}")  # what the command left behind in its group is gone


def test_the_poll_clock_mode_moves_a_real_run_by_reads(fake: Fake) -> None:
    fake.control.set_clock(mode="poll")
    with RescaleClient(fake.base_url, fake.api_key, progress=False, sleep=lambda s: time.sleep(0.02)) as client:
        job_id = job(client, "echo polled > polled.txt")
        result = client.wait_for_job(job_id, delay=DELAY, timeout=TIMEOUT)
        assert result.succeeded and result.statuses[:3] == ["Pending", "Waiting for Queue", "Queued"]
        assert text(client, outputs(client, job_id)["polled.txt"]) == "polled\n"


def test_a_job_stopped_while_queued_never_runs(fake: Fake, client: RescaleClient, api: requests.Session) -> None:
    fake.control.set_execute(True, maxParallel=1)
    blocking = job(client, "sleep inf")
    wait(client, blocking, until="Executing")
    queued = job(client, "echo ran > ran.txt")
    assert api.post(fake.url(f"/api/v2/jobs/{queued}/stop/")).status_code == 202
    result = wait(client, queued)
    assert (result.status, result.reason) == ("Completed", "User Terminated") and "Executing" not in result.statuses
    assert outputs(client, queued) == {}
    api.post(fake.url(f"/api/v2/jobs/{blocking}/stop/"))
    assert wait(client, blocking).reason == "User Terminated"
    assert fake.control.execution()["running"] == 0


def test_deleting_a_job_or_resetting_removes_its_folders(rescale_mock: Fake) -> None:
    root = rescale_mock.backend.data_dir / "execute"
    with RescaleClient(rescale_mock.base_url, rescale_mock.api_key, progress=False,
                       sleep=ticking_sleep(rescale_mock.control)) as client:
        done = job(client, "echo hi > hi.txt")
        assert wait(client, done).succeeded
        running = job(client, "sleep inf")
        wait(client, running, until="Executing")
        tenant_dirs = [d for d in root.iterdir() if (d / done).is_dir()]
        assert len(tenant_dirs) == 1 and (tenant_dirs[0] / running / "home" / "work").is_dir()
        client.wait_for_job_cluster(done, delay=DELAY, timeout=TIMEOUT)  # Stopped: it may be deleted
        client.jobs.delete_job(job_id=done)
        assert not (tenant_dirs[0] / done).exists()
    rescale_mock.control.reset()  # kills the running command and forgets everything of the tenant
    assert not tenant_dirs[0].exists() and rescale_mock.control.execution()["running"] == 0
