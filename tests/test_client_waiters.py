"""Waiters: a job or a cluster awaited with a delay, a timeout and a callback per new status; success and failure
ends told apart (reasons from the reference); a timeout raises. The fake's clock is manual: the waiters' `sleep`
moves it (or the clock's `poll` mode moves one step per read), so nothing sleeps."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from rescale_client import RescaleClient, WaiterTimeout, WaitFailed
from rescale_client.waiters import JOB_FAILURE_REASONS, cluster_verdict, job_verdict
from rescale_mock.testing import Fake

FLOW = ["Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing", "Completed"]


def test_success_with_a_callback_per_new_status(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job()
    seen: list[Mapping[str, Any]] = []
    result = client.wait_for_job(job_id, delay=5, on_status=seen.append)
    assert (result.status, result.reason, result.succeeded) == ("Completed", "Completed successfully", True)
    assert [s["status"] for s in seen] == FLOW == result.statuses  # each once, oldest first


def test_poll_clock_mode_needs_no_sleep(fake: Fake) -> None:
    fake.control.set_clock(mode="poll")
    with RescaleClient(fake.base_url, fake.api_key, sleep=lambda s: None) as client:
        job_id = fake.start_job()
        seen: list[str] = []
        assert client.wait_for_job(job_id, on_status=lambda s: seen.append(s["status"])).succeeded
    assert seen == FLOW


@pytest.mark.parametrize("outcome, status, reason", [
    ("fail", "Completed", None),
    ("no_resources", "Completed", "Could not allocate compute resources from the compute provider"),
    ("run_failure", "Completed", "A run failed"),
    ("restarts_exceeded", "Completed", "Exceeded max number of restarts"),
    ("force_stop", "Force Stop", None),
])
def test_failure_ends(fake: Fake, client: RescaleClient, outcome: str, status: str, reason: str | None) -> None:
    job_id = fake.start_job()
    fake.control.scenario(job_id, outcome=outcome)
    with pytest.raises(WaitFailed) as caught:
        client.wait_for_job(job_id)
    result = caught.value.result
    assert (result.status, result.succeeded) == (status, False)
    if reason is not None:
        assert result.reason == reason and reason in JOB_FAILURE_REASONS
    assert status in str(caught.value)
    again = client.wait_for_job(job_id, raise_on_failure=False)
    assert (again.status, again.succeeded) == (status, False)


def test_user_stop_is_a_failure_end(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("sleep inf")
    client.wait_for_job(job_id, until="Executing")
    client.jobs.stop_job(job_id=job_id)
    result = client.wait_for_job(job_id, raise_on_failure=False)
    assert (result.status, result.reason, result.succeeded) == ("Completed", "User Terminated", False)
    assert "Stopping" in result.statuses


def test_until_an_intermediate_status(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("sleep inf")
    result = client.wait_for_job(job_id, until="Executing", delay=30)
    assert (result.status, result.succeeded) == ("Executing", True)
    assert client.jobs.list_job_instances(job_id=job_id)["count"] == 1  # the notebook's cell 63
    other = fake.start_job()
    fake.control.scenario(other, outcome="no_resources")
    with pytest.raises(WaitFailed, match="Could not allocate"):
        client.wait_for_job(other, until="Executing", delay=60)  # it ended without ever executing


def test_timeout(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job("sleep inf")
    polls: list[str] = []
    with pytest.raises(WaiterTimeout) as caught:
        client.wait_for_job(job_id, delay=60, timeout=300, on_status=lambda s: polls.append(s["status"]))
    assert caught.value.last is not None and caught.value.last["status"] == "Executing"
    assert "still Executing after 300 s" in str(caught.value)


def test_job_cluster_until_stopped_then_delete(client: RescaleClient, fake: Fake) -> None:
    job_id = fake.start_job()
    client.wait_for_job(job_id)
    seen: list[str] = []
    result = client.wait_for_job_cluster(job_id, until="Stopped", on_status=lambda s: seen.append(s["status"]))
    assert result.succeeded and seen == ["Not Started", "Starting", "Started", "Stopping", "Stopped"]
    client.jobs.delete_job(job_id=job_id)


def test_persistent_cluster_started_then_stopped(client: RescaleClient) -> None:
    cluster = client.clusters.create_cluster(body={
        "name": "persistent", "hardware": {"coreType": {"code": "granite"}, "coresPerSlot": 2, "walltime": 2},
        "installedAnalyses": [{"analysis": {"code": "user_included", "version": "0"}}]})
    client.clusters.start_cluster(cluster_id=cluster["id"])
    started = client.wait_for_cluster(cluster["id"], until="Started", delay=5)
    assert started.statuses == ["Not Started", "Pending", "Queued", "Starting", "Started"]
    client.clusters.stop_cluster(cluster_id=cluster["id"])
    stopped = client.wait_for_cluster(cluster["id"], until="Stopped", delay=5)
    assert stopped.statuses[-3:] == ["Stop Requested", "Stopping", "Stopped"]


def test_cluster_that_stops_before_starting_is_a_failure(client: RescaleClient) -> None:
    cluster = client.clusters.create_cluster(body={
        "name": "short", "hardware": {"coreType": {"code": "granite"}, "coresPerSlot": 2, "walltime": 1}})
    client.clusters.start_cluster(cluster_id=cluster["id"])
    client.clusters.stop_cluster(cluster_id=cluster["id"])
    with pytest.raises(WaitFailed, match="ended Stop"):
        client.wait_for_cluster(cluster["id"], until="Started", delay=30)


def test_storage_device_started_then_stopped(client: RescaleClient) -> None:
    device = client.storage.create_storage_device(body={
        "name": "scratch", "storageSize": 2, "hardware": {"walltime": 1, "coresPerSlot": 18, "coreType": "hps-3"},
        "region": {"id": "aws-us-east-1"}})
    client.storage.submit_storage_device(device_id=device["id"])
    started = client.wait_for_storage_device(device["id"], delay=5)
    assert started.succeeded and started.statuses[-2:] == ["Starting", "Started"]
    client.storage.shutdown_storage_device(device_id=device["id"])
    stopped = client.wait_for_storage_device(device["id"], until="Stopped", delay=5)
    assert stopped.statuses[-3:] == ["Stop Requested", "Stopping", "Stopped"]


def test_one_polling_loop_times_out_on_the_sum_of_its_sleeps() -> None:
    """`poll` is what every waiter runs: the last sleep is cut to the timeout, and a clock that never moves (a fake
    one, moved only by `sleep`) still ends the wait."""
    from rescale_client.waiters import poll

    slept: list[float] = []
    checks = iter([(False, "a"), (False, "b"), (False, "c"), (True, "d")])
    assert poll(lambda: next(checks), still=str, delay=10, timeout=None, sleep=slept.append, clock=lambda: 0.0) == "d"
    assert slept == [10, 10, 10]
    slept.clear()
    with pytest.raises(WaiterTimeout, match="still b after 25 s") as caught:
        poll(lambda: (False, "b"), still=lambda state, elapsed: f"still {state} after {elapsed:.0f} s", delay=10,
             timeout=25, sleep=slept.append, clock=lambda: 0.0)
    assert slept == [10, 10, 5] and caught.value.last == "b"


def test_verdicts() -> None:
    def history(*items: tuple[str, str | None]) -> list[Mapping[str, Any]]:
        return [{"status": s, "statusReason": r} for s, r in items]

    done = job_verdict(None)
    assert done(history(("Pending", None))) is None
    assert done(history(("Completed", "Completed successfully"))) is True
    assert done(history(("Completed", "User Terminated"))) is False
    assert done(history(("Force Stop", None))) is False
    assert job_verdict("Force Stop")(history(("Force Stop", None))) is True
    assert job_verdict("Executing")(history(("Executing", None), ("Completed", "Completed successfully"))) is True
    started = cluster_verdict("Started")
    assert started(history(("Not Started", None), ("Error", None))) is False
    assert started(history(("Starting", None))) is None


def test_waiting_for_runs_reads_the_runs_after_the_jobs_status() -> None:
    """The job's last run completes between two reads: the runs read after the status has ended are final, so the
    wait succeeds (read before it, the wait failed with every run done)."""
    from rescale_client.waiters import RunProgress

    client = RescaleClient("http://127.0.0.1:9", "k" * 40, progress=False)
    done = {"runs": 2}
    order: list[str] = []

    def statuses(**_: Any) -> dict[str, Any]:
        order.append("status")
        done["runs"] = 3  # the last run completes right after the status is read: the job has ended
        return {"results": [{"status": "Completed"}]}

    def progress(*_: Any, **__: Any) -> RunProgress:
        order.append("runs")
        completed = [{"dateStarted": "then", "dateCompleted": "now"}] * done["runs"]
        return RunProgress.of(3, completed)

    client.jobs.list_job_statuses = statuses  # type: ignore[method-assign]
    client.run_progress = progress  # type: ignore[method-assign]
    assert client.wait_for_runs("job", 3, delay=0, sleep=lambda _s: None).completed == 3
    assert order[:2] == ["status", "runs"]
