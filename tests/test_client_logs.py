"""Following a job's process_output.log: live from the run's tail while it runs, then the saved file; every line
exactly once, in order, the same lines as the saved log."""
from __future__ import annotations


import pytest
from rescale_client import RescaleClient, WaiterTimeout
from rescale_client.logs import saved_log_lines
from rescale_mock.testing import Fake


def test_follow_while_running_then_the_rest(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("echo starting; echo step 1; sleep 120; echo done")
    lines = list(client.follow_log(job_id, delay=20))
    assert lines == saved_log_lines(client.jobs, client.files, job_id)
    assert all(line.endswith("\n") for line in lines)
    assert "starting\n" in lines and "step 1\n" in lines and "done\n" in lines
    assert lines[-1].endswith("Command exited with status 0\n")
    tails = fake.control.journal(operationId="tailJobRunFile")
    assert any(entry["status"] == 200 for entry in tails)  # read live while it ran


def test_follow_lines_arrive_before_the_job_ends(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("echo first; sleep 600")
    follow = client.follow_log(job_id, delay=30)
    got = []
    for line in follow:
        got.append(line)
        if line == "first\n":
            break
    assert client.jobs.list_job_statuses(job_id=job_id)["results"][0]["status"] == "Executing"
    assert got[0].startswith("[") and "Rescale job" in got[0]


def test_follow_a_finished_job_gives_the_saved_log(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("echo hello; exit 3")
    fake.control.advance(3600)
    lines = list(client.follow_log(job_id))
    assert "hello\n" in lines and lines[-1].endswith("Command exited with status 3\n")
    fake.control.assert_called("tailJobRunFile", times=0)


def test_follow_times_out_on_a_job_that_never_ends(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("echo forever; sleep inf")
    seen: list[str] = []
    with pytest.raises(WaiterTimeout):
        seen.extend(client.follow_log(job_id, delay=60, timeout=600))
    assert "forever\n" in seen
