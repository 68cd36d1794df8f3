"""How jobs end and how fast time goes: the control plane's scenarios (per job and per tenant: succeed, fail,
no_resources, run_failure, force_stop, restarts_exceeded, runSeconds; reference §3.1, openapi/control.yaml) and
the clock's modes (manual, poll, scaled). No test sleeps: time moves by `advance`, by status reads (`poll`) or
by a huge factor (`scaled`)."""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

EXECUTING_AT, SYNC, DEFAULT_RUN = 45.0, 15.0, 10.0
COMPLETED_AT = EXECUTING_AT + DEFAULT_RUN + SYNC
STOPPED_AT = COMPLETED_AT + 41
HEAD = ["Pending", "Waiting for Queue", "Queued"]
RUNNING = HEAD + ["Started", "Validated", "Executing"]
JOB_FLOW = RUNNING + ["Completed"]
CLUSTER_FLOW = ["Not Started", "Starting", "Started", "Stopping", "Stopped"]
NO_RESOURCES = "Could not allocate compute resources from the compute provider"


# -- helpers -----------------------------------------------------------------------------------------------------
def with_scenario(fake: Fake, api: requests.Session, outcome: str, command: str = "echo hello",
                  **options: Any) -> str:
    job_id = fake.create_job(command)["id"]
    fake.control.scenario(job_id, outcome, **options)
    fake.submit(job_id)
    return job_id


def when(items: list[dict[str, Any]], status: str) -> datetime:
    return next(datetime.fromisoformat(s["statusDate"].replace("Z", "+00:00")) for s in items
                if s["status"] == status)


def log_lines(fake: Fake, api: requests.Session, job_id: str) -> list[str]:
    files = api.get(fake.url(f"/api/v2/jobs/{job_id}/files/"), params={"search": "process_output.log"}).json()
    (log,) = files["results"]
    return api.get(fake.url(f"/api/v2/files/{log['id']}/lines/")).json()["lines"]


def runs(fake: Fake, api: requests.Session, job_id: str) -> list[dict[str, Any]]:
    return api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/")).json()["results"]


# -- per-job scenarios ---------------------------------------------------------------------------------------------
def test_scenario_answers_what_is_in_force(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    assert fake.control.scenario(job_id, "fail", exitCode=2) == {
        "outcome": "fail", "exitCode": 2, "reason": None, "runSeconds": None, "clusterStopSeconds": None}


def test_succeed(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "succeed")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.history(job_id) == JOB_FLOW
    assert fake.statuses(job_id)[0]["statusReason"] == "Completed successfully"


def test_fail_with_an_exit_code_and_a_reason(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "fail", exitCode=2, reason="Solver diverged")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.history(job_id) == JOB_FLOW
    assert fake.statuses(job_id)[0]["statusReason"] == "Solver diverged"
    assert "status 2" in log_lines(fake, api, job_id)[-1]


def test_fail_without_options_exits_1(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "fail")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.statuses(job_id)[0]["status"] == "Completed"
    assert "status 1" in log_lines(fake, api, job_id)[-1]


def test_no_resources(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "no_resources")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.history(job_id) == HEAD + ["Completed"]
    assert fake.statuses(job_id)[0]["statusReason"] == NO_RESOURCES
    assert "Started" not in fake.history(job_id, "cluster_statuses")
    assert fake.history(job_id, "cluster_statuses")[-1] == "Stopped"
    assert runs(fake, api, job_id) == []


def test_no_resources_job_can_be_deleted_once_stopped(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "no_resources")
    fake.control.advance(STOPPED_AT + 1)
    assert api.delete(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 204


def test_run_failure(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "run_failure")
    fake.control.advance(STOPPED_AT + 1)
    found = fake.statuses(job_id)
    assert fake.history(job_id) == RUNNING + ["Stopping", "Completed"]
    stopping = next(s for s in found if s["status"] == "Stopping")
    assert stopping["statusReason"] == "A run failed"
    assert fake.history(job_id, "cluster_statuses") == CLUSTER_FLOW


def test_force_stop(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "force_stop")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.history(job_id) == RUNNING + ["Force Stop"]
    listed = api.get(fake.url("/api/v2/jobs/"), params={"job_status": "FORCE_STOP"}).json()["results"]
    assert [j["id"] for j in listed] == [job_id]
    completed = api.get(fake.url("/api/v2/jobs/"), params={"state": "completed"}).json()["results"]
    assert [j["id"] for j in completed] == [job_id]


def test_restarts_exceeded(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "restarts_exceeded")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.statuses(job_id)[0]["status"] == "Completed"
    assert fake.statuses(job_id)[0]["statusReason"] == "Exceeded max number of restarts"


def test_run_seconds_overrides_the_command(fake: Fake, api: requests.Session) -> None:
    job_id = with_scenario(fake, api, "succeed", "sleep 5", runSeconds=500)
    fake.control.advance(EXECUTING_AT + 400)
    assert fake.statuses(job_id)[0]["status"] == "Executing"
    fake.control.advance(200)
    found = fake.statuses(job_id)
    assert (when(found, "Completed") - when(found, "Executing")).total_seconds() == 500 + SYNC


def test_scenario_can_change_while_the_job_runs(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep 100")
    fake.control.advance(EXECUTING_AT + 10)
    fake.control.scenario(job_id, "run_failure")
    fake.control.advance(200)
    assert fake.history(job_id)[-2:] == ["Stopping", "Completed"]


def test_scenario_of_a_finished_job_is_refused(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    before = fake.statuses(job_id)
    response = fake.control.session.put(fake.url(f"/_fake/jobs/{job_id}/scenario/"), json={"outcome": "fail"})
    assert response.status_code == 400 and "detail" in response.json()
    assert fake.statuses(job_id) == before


def test_scenario_of_another_tenants_job_is_404(fake: Fake, other: Fake) -> None:
    theirs = other.create_job("x")["id"]
    response = fake.control.session.put(fake.url(f"/_fake/jobs/{theirs}/scenario/"), json={"outcome": "fail"})
    assert response.status_code == 404


def test_bad_scenario_is_400(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    for body in ({"outcome": "explode"}, {}, {"outcome": "fail", "exitCode": 999}):
        response = fake.control.session.put(fake.url(f"/_fake/jobs/{job_id}/scenario/"), json=body)
        assert response.status_code == 400, body
    fake.submit(job_id)
    fake.control.advance(STOPPED_AT + 1)
    assert fake.statuses(job_id)[0]["statusReason"] == "Completed successfully"


# -- per-tenant scenarios ------------------------------------------------------------------------------------------
def test_tenant_scenario_applies_to_jobs_submitted_afterwards(fake: Fake, api: requests.Session) -> None:
    before = fake.start_job()
    fake.control.scenario(outcome="no_resources")
    after = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    assert fake.statuses(before)[0]["statusReason"] == "Completed successfully"
    assert fake.statuses(after)[0]["statusReason"] == NO_RESOURCES


def test_job_scenario_beats_the_tenant_scenario(fake: Fake, api: requests.Session) -> None:
    fake.control.scenario(outcome="fail", exitCode=4)
    job_id = with_scenario(fake, api, "succeed")
    fake.control.advance(STOPPED_AT + 1)
    assert fake.statuses(job_id)[0]["statusReason"] == "Completed successfully"


def test_a_stop_saved_before_a_racing_read_settles_the_job_wins(rescale_mock: Fake) -> None:
    """A read that found the job finished by its own plan can reach the outputs (and the final status) just after
    a stop was saved: the job is settled as the stop left it, not as the plan that read said (settling reads the
    job again in the transaction that claims its outputs). The race is replayed through the in-process backend."""
    fake, api = rescale_mock, requests.Session()
    api.headers.update(fake.headers)
    jobs, tenant = fake.backend.jobs, fake.backend.tenants.by_key(fake.api_key)
    job_id = with_scenario(fake, api, "force_stop")
    fake.control.advance(EXECUTING_AT + 1)
    before_stop = jobs.snapshot(tenant, job_id)
    api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).raise_for_status()
    fake.control.advance(STOPPED_AT + 600)
    tenant = fake.backend.tenants.reload(tenant)  # the clock the control plane moved (tenants are read per request)
    late_read = dataclasses.replace(before_stop, now=fake.backend.tenants.now(tenant))
    assert late_read.status.status == "Force Stop"  # what the racing read saw
    jobs.settle(tenant, job_id)
    assert fake.statuses(job_id)[0]["status"] == "Completed"  # stopped by the user
    listed = api.get(fake.url("/api/v2/jobs/"), params={"job_status": "FORCE_STOP"}).json()["results"]
    assert listed == []


@pytest.mark.parametrize("outcome, last", [("fail", "Completed"), ("run_failure", "Completed"),
                                           ("force_stop", "Force Stop"), ("no_resources", "Completed")])
def test_tenant_scenario_for_each_outcome(fake: Fake, api: requests.Session, outcome: str, last: str) -> None:
    fake.control.scenario(outcome=outcome)
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    assert fake.history(job_id)[-1] == last
    assert (fake.statuses(job_id)[0]["statusReason"] or "") != "Completed successfully"


def test_tenant_scenario_does_not_touch_other_tenants(fake: Fake, other: Fake) -> None:
    fake.control.scenario(outcome="run_failure")
    job_id = other.start_job()
    other.control.advance(STOPPED_AT + 1)
    assert other.statuses(job_id)[0]["statusReason"] == "Completed successfully"


# -- the clock -----------------------------------------------------------------------------------------------------
def test_manual_clock_only_moves_with_advance(fake: Fake, api: requests.Session) -> None:
    assert fake.control.clock()["mode"] == "manual"
    job_id = fake.start_job()
    assert {fake.statuses(job_id)[0]["status"] for _ in range(10)} == {"Pending"}
    fake.control.advance(EXECUTING_AT)
    assert fake.statuses(job_id)[0]["status"] == "Executing"


def test_advance_moves_the_clock_by_that_much(fake: Fake, api: requests.Session) -> None:
    before = datetime.fromisoformat(fake.control.clock()["now"].replace("Z", "+00:00"))
    after = datetime.fromisoformat(fake.control.advance(90)["now"].replace("Z", "+00:00"))
    assert (after - before).total_seconds() == 90


def test_poll_steps_through_every_status_in_order(fake: Fake, api: requests.Session) -> None:
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    seen: list[str] = []
    for _ in range(50):
        status = fake.statuses(job_id)[0]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "Completed":
            break
    assert seen == JOB_FLOW


def test_poll_moves_one_step_per_read(fake: Fake, api: requests.Session) -> None:
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    counts = [len(fake.statuses(job_id)) for _ in range(3)]
    assert counts == [1, 2, 3]


def test_poll_reaches_the_cluster_stopped(fake: Fake, api: requests.Session) -> None:
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    seen: list[str] = []
    for _ in range(50):
        status = fake.statuses(job_id, "cluster_statuses")[0]["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "Stopped":
            break
    assert seen == CLUSTER_FLOW
    assert fake.history(job_id) == JOB_FLOW


def test_poll_does_not_move_other_reads(fake: Fake, api: requests.Session) -> None:
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    for _ in range(5):
        api.get(fake.url(f"/api/v2/jobs/{job_id}/")).raise_for_status()
        api.get(fake.url("/api/v2/jobs/")).raise_for_status()
    assert fake.history(job_id) == ["Pending"]


def test_listings_agree_with_job_reads_after_leaving_the_poll_mode(fake: Fake, api: requests.Session) -> None:
    """A job polled to its end runs ahead of the tenant's clock; a switch to another mode takes it back, and the
    filtered listings must say what the job's own statuses say (its end was not recorded as final)."""
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    for _ in range(50):
        if fake.statuses(job_id)[0]["status"] == "Completed":
            break
    fake.control.set_clock("manual")
    status = fake.statuses(job_id)[0]["status"]
    listed = {name: [j["id"] for j in api.get(fake.url("/api/v2/jobs/"), params={"job_status": name}).json()["results"]]
              for name in ("COMPLETED", "PENDING")}
    assert listed[status.upper()] == [job_id] and sum(map(len, listed.values())) == 1


def test_poll_mode_still_honours_advance(fake: Fake, api: requests.Session) -> None:
    fake.control.set_clock("poll")
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    assert fake.statuses(job_id)[0]["status"] == "Completed"


def test_scaled_clock_with_a_huge_factor_completes_within_one_request(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    fake.control.set_clock("scaled", 1e6)
    fake.submit(job_id)
    assert fake.history(job_id) == JOB_FLOW
    assert fake.history(job_id, "cluster_statuses") == CLUSTER_FLOW


def test_changing_the_mode_does_not_jump_time(fake: Fake, api: requests.Session) -> None:
    before = datetime.fromisoformat(fake.control.clock()["now"].replace("Z", "+00:00"))
    after = datetime.fromisoformat(fake.control.set_clock("scaled", 1)["now"].replace("Z", "+00:00"))
    assert 0 <= (after - before).total_seconds() < 5
    fake.control.set_clock("manual")


def test_a_jobs_dates_follow_the_clock(fake: Fake, api: requests.Session) -> None:
    now = datetime.fromisoformat(fake.control.advance(1000)["now"].replace("Z", "+00:00"))
    job_id = fake.start_job()
    pending = datetime.fromisoformat(fake.statuses(job_id)[0]["statusDate"])
    assert abs((pending - now).total_seconds()) < 1
