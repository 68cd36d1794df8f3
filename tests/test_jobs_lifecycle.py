"""Jobs end to end (reference §2.1, §3, §4.1, §4.2, §5.2): create (the full Job of seed 003), get, list with paging
and filters, patch, submit, stop, delete, and the job's and its cluster's status histories on the fake's clock.

Every test gets a fresh tenant whose clock is `manual`: time only moves with `fake.control.advance(seconds)`.
The default timeline (mockserver/domain/lifecycle.py): Pending@0, Waiting for Queue@1.5, Queued@4, Started@40,
Validated@42, Executing@45, the run (the command's `sleep`s, else 10 s), Completed 15 s after the run; cluster
Not Started@0, Starting@5, Started@40, Stopping 1 s after Completed, Stopped 40 s later.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake, job_analysis

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied")  # some tests send bad requests on purpose

NOT_FOUND = {"detail": "Not found."}
JOB_STATUS_DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"
Z_DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
JOB_FLOW = ["Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing", "Completed"]
CLUSTER_FLOW = ["Not Started", "Starting", "Started", "Stopping", "Stopped"]
EXECUTING_AT, SYNC, DEFAULT_RUN = 45.0, 15.0, 10.0
COMPLETED_AT = EXECUTING_AT + DEFAULT_RUN + SYNC  # 70
STOPPED_AT = COMPLETED_AT + 1 + 40  # 111
JOB_KEYS = {  # seed 003's 201 response, plus what later sources add (reference §4.1)
    "id", "name", "owner", "jobanalyses", "jobvariables", "paramFile", "caseFile", "monteCarloIterations",
    "includeNominalRun", "isTemplateDryRun", "isLowPriority", "remoteVizConfig", "optimizer", "expectedRuns",
    "archiveFilters", "resourceFilters", "dateInserted", "projectId", "description",
}
SUMMARY_KEYS = {"id", "name", "owner", "dateInserted", "analysisNames", "sharedWith", "isVisible", "storage",
                "jobStatus", "clusterStatusDisplay"}


# -- helpers -----------------------------------------------------------------------------------------------------
def history(items: list[dict[str, Any]]) -> list[str]:
    """Statuses oldest first (the API lists them newest first)."""
    return [s["status"] for s in reversed(items)]


def current(fake: Fake, api: requests.Session, job_id: str) -> str | None:
    found = fake.statuses(job_id)
    return found[0]["status"] if found else None


def when(items: list[dict[str, Any]], status: str) -> datetime:
    return next(datetime.fromisoformat(s["statusDate"].replace("Z", "+00:00")) for s in items
                if s["status"] == status)


def get_job(fake: Fake, api: requests.Session, job_id: str) -> dict[str, Any]:
    response = api.get(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert response.status_code == 200, response.text
    return response.json()


def jobs(fake: Fake, api: requests.Session, **params: Any) -> list[dict[str, Any]]:
    response = api.get(fake.url("/api/v2/jobs/"), params={"page_size": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


# -- create and get ----------------------------------------------------------------------------------------------
def test_create_answers_201_with_the_full_job(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job(name="Basic Job")
    me = api.get(fake.url("/api/v2/users/me/")).json()
    assert JOB_KEYS <= set(job)
    assert re.fullmatch(r"[A-Za-z]{5,6}", job["id"])
    assert job["name"] == "Basic Job"
    assert job["owner"] == me["email"]
    assert re.fullmatch(Z_DATE, job["dateInserted"])
    assert job["jobvariables"] == [] and job["archiveFilters"] == []
    assert job["expectedRuns"] == 1 and job["monteCarloIterations"] is None  # D16: "will be 1 for basic jobs"
    assert job["isLowPriority"] is False and job["isTemplateDryRun"] is False and job["includeNominalRun"] is False
    assert [f["filterType"] for f in job["resourceFilters"]] == [
        "Analysis generated files", "Completed templates", "Input files"]


def test_create_expands_input_files_to_file_objects(fake: Fake, api: requests.Session) -> None:
    uploaded = fake.upload("range.inp")
    job = fake.create_job(jobanalyses=[job_analysis(inputFiles=[{"id": uploaded["id"]}])])
    (expanded,) = job["jobanalyses"][0]["inputFiles"]
    assert expanded == api.get(fake.url(f"/api/v2/files/{uploaded['id']}/")).json()


def test_create_adds_core_summary_to_hardware(fake: Fake, api: requests.Session) -> None:
    body = {"jobanalyses": [{"analysis": {"code": "openfoam", "version": "2.3.0-openmpi"}, "command": "./Allrun",
                             "hardware": {"coreType": "standard-plus", "coresPerSlot": 1, "slots": 1}}]}
    hardware = fake.create_job(**body)["jobanalyses"][0]["hardware"]
    assert hardware["coreSummary"] == {"storagePerNode": 4000, "numberOfNodes": 1, "memoryPerNode": 3750}
    assert hardware["coreType"] == "standard-plus" and hardware["slots"] == 1


def test_create_saves_without_starting(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    fake.control.advance(3600)
    assert [s["status"] for s in fake.statuses(job_id)] in ([], ["Pending"])
    assert fake.statuses(job_id, "cluster_statuses") == []
    assert jobs(fake, api)[0]["clusterStatusDisplay"]["content"] == ""


def test_get_returns_what_create_returned(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job()
    assert get_job(fake, api, job["id"]) == job


def test_get_without_trailing_slash(fake: Fake, api: requests.Session) -> None:
    job = fake.create_job()
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}")).json() == job


def test_get_unknown_job_is_404(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/jobs/NoSuch/"))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_create_keeps_several_analyses_in_order(fake: Fake, api: requests.Session) -> None:
    body = {"jobanalyses": [job_analysis("python3 calculate_pi.py range.inp"),
                            {"analysis": {"code": "ansys_fluent", "version": "2019r1"}, "command": "# ",
                             "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    job = fake.create_job(**body)
    assert [ja["analysis"]["code"] for ja in job["jobanalyses"]] == ["user_included", "ansys_fluent"]
    assert [ja["command"] for ja in job["jobanalyses"]] == ["python3 calculate_pi.py range.inp", "# "]


# -- list ----------------------------------------------------------------------------------------------------------
def test_list_items_are_job_summaries(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job(name="summary")["id"]
    (item,) = jobs(fake, api)
    assert set(item) == SUMMARY_KEYS
    assert item["id"] == job_id and item["name"] == "summary"
    assert item["analysisNames"] == ["Bring Your Own Software"]
    assert item["isVisible"] is True and item["sharedWith"] == [] and item["storage"] == 0
    assert item["jobStatus"]["content"] in ("", "Pending")
    assert item["clusterStatusDisplay"] == {"content": "", "labelClass": "", "useLabel": False}


def test_list_summary_follows_the_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(EXECUTING_AT + 1)
    (item,) = jobs(fake, api)
    assert item["jobStatus"]["content"] == "Executing"
    assert item["clusterStatusDisplay"]["content"] == "Started"
    fake.control.advance(STOPPED_AT)
    (item,) = jobs(fake, api)
    assert (item["id"], item["jobStatus"]["content"], item["clusterStatusDisplay"]["content"]) == (
        job_id, "Completed", "Stopped")
    assert item["storage"] > 0  # process_output.log


def test_list_names_every_analysis(fake: Fake, api: requests.Session) -> None:
    body = {"jobanalyses": [job_analysis("# "), {"analysis": {"code": "ansys_fluent", "version": "2019r1"},
                                              "command": "fluent 3ddp -g -i run.jou",
                                              "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    fake.create_job(**body)
    analysis_names = jobs(fake, api)[0]["analysisNames"]
    assert len(analysis_names) == 2 and analysis_names[0] == "Bring Your Own Software"


def test_list_is_paged_newest_first(fake: Fake, api: requests.Session) -> None:
    ids = [fake.create_job(name=f"job {i}")["id"] for i in range(12)]
    first = api.get(fake.url("/api/v2/jobs/")).json()
    assert first["count"] == 12 and first["previous"] is None
    assert [j["id"] for j in first["results"]] == ids[::-1][:10]
    assert first["next"].startswith(fake.base_url) and "page=2" in first["next"]
    second = api.get(first["next"]).json()
    assert [j["id"] for j in second["results"]] == ids[::-1][10:]
    assert second["next"] is None and second["previous"].startswith(fake.base_url)


def test_list_page_past_the_end_is_404(fake: Fake, api: requests.Session) -> None:
    fake.create_job()
    response = api.get(fake.url("/api/v2/jobs/"), params={"page": 2})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_list_filters_by_state(fake: Fake, api: requests.Session) -> None:
    done = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    running = fake.start_job("sleep 600")
    saved = fake.create_job()["id"]
    fake.control.advance(EXECUTING_AT + 1)
    assert [j["id"] for j in jobs(fake, api, state="completed")] == [done]
    assert {j["id"] for j in jobs(fake, api, state="not_completed")} == {running, saved}


def test_list_filters_by_job_status(fake: Fake, api: requests.Session) -> None:
    done = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    running = fake.start_job("sleep 600")
    fake.control.advance(EXECUTING_AT + 1)
    queued = fake.start_job()
    fake.control.advance(10)
    assert [j["id"] for j in jobs(fake, api, job_status="COMPLETED")] == [done]
    assert [j["id"] for j in jobs(fake, api, job_status="EXECUTING")] == [running]
    assert [j["id"] for j in jobs(fake, api, job_status="QUEUED")] == [queued]
    assert jobs(fake, api, job_status="STOPPING") == []


def test_list_combines_state_and_job_status(fake: Fake, api: requests.Session) -> None:
    done = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    fake.start_job("sleep 600")
    assert [j["id"] for j in jobs(fake, api, state="completed", job_status="COMPLETED")] == [done]


def test_filtered_listings_stay_the_same_once_finished_jobs_settle(fake: Fake, api: requests.Session) -> None:
    """The first read of a finished job records its final status; later filtered listings read that instead of
    computing every job's life again, and must answer exactly as before."""
    stopped = fake.start_job("sleep inf")
    done = fake.start_job()
    fake.control.advance(EXECUTING_AT + 10)
    api.post(fake.url(f"/api/v2/jobs/{stopped}/stop/")).raise_for_status()
    fake.control.advance(COMPLETED_AT + 600)
    running = fake.start_job("sleep 6000")
    fake.control.advance(EXECUTING_AT + 1)
    queries = [{"job_status": "COMPLETED"}, {"job_status": "FORCE_STOP"}, {"job_status": "EXECUTING"},
               {"state": "completed"}, {"state": "not_completed"}, {"state": "completed", "job_status": "COMPLETED"}]
    first = [[j["id"] for j in jobs(fake, api, **q)] for q in queries]
    # a stopped job ends Completed ("User Terminated"), like one that ran to the end
    assert first == [[done, stopped], [], [running], [done, stopped], [running], [done, stopped]]
    assert [[j["id"] for j in jobs(fake, api, **q)] for q in queries] == first
    page = api.get(fake.url("/api/v2/jobs/"), params={"state": "completed", "page_size": 1, "page": 2}).json()
    assert (page["count"], [j["id"] for j in page["results"]]) == (2, [stopped])


def test_list_shows_only_the_tenants_jobs(fake: Fake, api: requests.Session) -> None:
    other_key = fake.control.create_tenant()["apiKey"]
    other = requests.Session()
    other.headers["Authorization"] = f"Token {other_key}"
    other.post(fake.url("/api/v2/jobs/"), json={"name": "theirs", "jobanalyses": [job_analysis()]}).raise_for_status()
    mine = fake.create_job()["id"]
    assert [j["id"] for j in jobs(fake, api)] == [mine]


# -- patch ---------------------------------------------------------------------------------------------------------
def test_patch_a_saved_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job(name="before")["id"]
    response = api.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json={"name": "after", "projectId": "xDdRk"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "after" and response.json()["projectId"] == "xDdRk"
    assert get_job(fake, api, job_id)["name"] == "after"


def test_patch_replaces_the_analyses_of_a_saved_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    file_id = fake.upload()["id"]
    body = {"jobanalyses": [job_analysis("python3 calculate_pi.py range.inp", inputFiles=[{"id": file_id}])]}
    response = api.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json=body)
    assert response.status_code == 200, response.text
    (ja,) = get_job(fake, api, job_id)["jobanalyses"]
    assert ja["command"] == "python3 calculate_pi.py range.inp"
    assert [f["id"] for f in ja["inputFiles"]] == [file_id]


def test_patch_a_completed_job_answers_200_and_changes_nothing(fake: Fake, api: requests.Session) -> None:
    fake.control.settings(finishedJobChanges="ignore")  # what the notebook observed; 400 by default (test_modes.py)
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    before = get_job(fake, api, job_id)
    file_id = fake.upload()["id"]
    body = {"name": "renamed", "isLowPriority": True,
            "jobanalyses": [job_analysis("python3 x.py", inputFiles=[{"id": file_id}])]}
    response = api.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json=body)
    assert response.status_code == 200, response.text
    assert get_job(fake, api, job_id) == before


# -- submit --------------------------------------------------------------------------------------------------------
def test_submit_answers_200_with_an_empty_body_and_starts_the_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    response = api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/"))
    assert response.status_code == 200 and response.content == b""
    assert history(fake.statuses(job_id)) == ["Pending"]
    assert history(fake.statuses(job_id, "cluster_statuses")) == ["Not Started"]


def test_submit_accepts_an_empty_json_object(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    response = api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/"), json={})
    assert response.status_code == 200 and response.content == b""
    assert current(fake, api, job_id) == "Pending"


def test_submit_twice_changes_nothing(fake: Fake, api: requests.Session) -> None:
    fake.control.settings(finishedJobChanges="ignore")  # 400 by default (test_modes.py)
    job_id = fake.start_job()
    fake.control.advance(EXECUTING_AT + 1)
    before = fake.statuses(job_id)
    fake.submit(job_id)
    assert fake.statuses(job_id) == before


def test_submit_a_completed_job_changes_nothing(fake: Fake, api: requests.Session) -> None:
    fake.control.settings(finishedJobChanges="ignore")  # 400 by default (test_modes.py)
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    before = fake.statuses(job_id), fake.statuses(job_id, "cluster_statuses")
    fake.submit(job_id)
    fake.control.advance(STOPPED_AT + 1)
    assert (fake.statuses(job_id), fake.statuses(job_id, "cluster_statuses")) == before


# -- statuses ------------------------------------------------------------------------------------------------------
def test_a_job_goes_through_every_status_in_order(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    found = fake.statuses(job_id)
    assert history(found) == JOB_FLOW
    assert found[0]["statusReason"] == "Completed successfully"
    assert all(s["statusReason"] is None for s in found[1:])


def test_statuses_are_newest_first_with_strictly_increasing_dates(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    for found in (fake.statuses(job_id), fake.statuses(job_id, "cluster_statuses")):
        dates = [datetime.fromisoformat(s["statusDate"].replace("Z", "+00:00")) for s in found]
        assert all(newer > older for newer, older in zip(dates, dates[1:])), dates


def test_job_status_records_and_date_format(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    found = fake.statuses(job_id)
    assert all(set(s) == {"id", "jobId", "status", "statusDate", "statusReason"} for s in found)
    assert all(s["jobId"] == job_id for s in found)
    assert len({s["id"] for s in found}) == len(found)
    assert all(re.fullmatch(JOB_STATUS_DATE, s["statusDate"]) for s in found), found


def test_statuses_follow_the_timeline(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    for seconds, expected in ((1, "Pending"), (1, "Waiting for Queue"), (3, "Queued"), (35, "Started"),
                              (2, "Validated"), (3, "Executing"), (24, "Executing"), (2, "Completed")):
        fake.control.advance(seconds)
        assert current(fake, api, job_id) == expected, seconds


def test_statuses_do_not_move_without_the_clock(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(EXECUTING_AT - 1)
    assert {current(fake, api, job_id) for _ in range(5)} == {"Validated"}


def test_statuses_are_paged(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    page = api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/"), params={"page_size": 3}).json()
    assert page["count"] == len(JOB_FLOW)
    assert [s["status"] for s in page["results"]] == ["Completed", "Executing", "Validated"]
    assert page["next"].startswith(fake.base_url)


def test_sleep_takes_that_many_seconds_of_fake_time(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("echo start; sleep 300; echo done")
    fake.control.advance(EXECUTING_AT + 299)
    assert current(fake, api, job_id) == "Executing"
    fake.control.advance(1 + SYNC + 1)
    found = fake.statuses(job_id)
    assert found[0]["status"] == "Completed"
    assert (when(found, "Completed") - when(found, "Executing")).total_seconds() == 300 + SYNC


def test_a_command_without_sleep_runs_ten_seconds(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("python3 calculate_pi.py range.inp")
    fake.control.advance(COMPLETED_AT + 1)
    found = fake.statuses(job_id)
    assert (when(found, "Completed") - when(found, "Executing")).total_seconds() == DEFAULT_RUN + SYNC


def test_sleep_inf_runs_until_the_walltime_ends_it(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep inf")  # walltime 1 hour
    fake.control.advance(EXECUTING_AT + 3600 - 5)
    assert current(fake, api, job_id) == "Executing"
    fake.control.advance(3600)
    found = fake.statuses(job_id)
    assert found[0]["status"] == "Completed"
    assert "Stopping" in history(found)
    assert history(fake.statuses(job_id, "cluster_statuses")) == CLUSTER_FLOW


def test_sleep_inf_without_walltime_runs_until_stopped(fake: Fake, api: requests.Session) -> None:
    body = {"jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "sleep inf",
                             "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    job_id = fake.start_job(**body)
    fake.control.advance(30 * 86400)
    assert current(fake, api, job_id) == "Executing"


# -- cluster statuses ----------------------------------------------------------------------------------------------
def test_cluster_goes_not_started_starting_started_stopping_stopped(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    found = fake.statuses(job_id, "cluster_statuses")
    assert history(found) == CLUSTER_FLOW
    assert all(set(s) == {"id", "clusterId", "status", "statusDate", "statusReason"} for s in found)
    assert len({s["clusterId"] for s in found}) == 1
    assert all(re.fullmatch(Z_DATE, s["statusDate"]) for s in found), found


def test_cluster_stops_after_the_job_completes(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 0.5)
    assert fake.statuses(job_id, "cluster_statuses")[0]["status"] == "Started"
    fake.control.advance(1)
    assert fake.statuses(job_id, "cluster_statuses")[0]["status"] == "Stopping"
    fake.control.advance(40)
    found = fake.statuses(job_id, "cluster_statuses")
    assert found[0]["status"] == "Stopped"
    assert when(found, "Stopping") > when(fake.statuses(job_id), "Completed")


# -- stop ----------------------------------------------------------------------------------------------------------
def test_stop_answers_202_with_an_empty_body(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep inf")
    fake.control.advance(EXECUTING_AT + 10)
    response = api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/"))
    assert response.status_code == 202 and response.content == b""


def test_stop_goes_stopping_then_completed_with_a_reason(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep inf")
    fake.control.advance(EXECUTING_AT + 10)
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).status_code == 202
    found = fake.statuses(job_id)
    assert (found[0]["status"], found[0]["statusReason"]) == ("Stopping", "User Terminated")
    fake.control.advance(60)
    found = fake.statuses(job_id)
    assert history(found) == JOB_FLOW[:-1] + ["Stopping", "Completed"]
    assert found[0]["statusReason"]


def test_stop_stops_the_cluster(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep inf")
    fake.control.advance(EXECUTING_AT + 10)
    api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).raise_for_status()
    fake.control.advance(120)
    assert history(fake.statuses(job_id, "cluster_statuses")) == CLUSTER_FLOW


def test_stop_ignores_a_body(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep inf")
    fake.control.advance(EXECUTING_AT + 1)
    definition = {"name": "sleep inf", "jobanalyses": [job_analysis("sleep inf")], "isLowPriority": True}
    response = api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/"), json=definition)  # the notebook, cell 68
    assert response.status_code == 202
    assert current(fake, api, job_id) == "Stopping"


def test_stop_before_the_cluster_started(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).raise_for_status()
    fake.control.advance(STOPPED_AT + 1)
    found = fake.statuses(job_id)
    assert history(found)[-2:] == ["Stopping", "Completed"]
    assert "Executing" not in history(found)
    dates = [s["statusDate"] for s in found]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)
    assert fake.statuses(job_id, "cluster_statuses")[0]["status"] == "Stopped"


def test_stop_a_completed_job_changes_nothing(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 1)
    before = fake.statuses(job_id)
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/")).status_code == 202
    fake.control.advance(100)
    assert fake.statuses(job_id) == before


def test_stop_a_saved_job_changes_nothing(fake: Fake, api: requests.Session) -> None:
    """The spec: "A job that is not running: 202 and no effect"."""
    job_id = fake.create_job()["id"]
    response = api.post(fake.url(f"/api/v2/jobs/{job_id}/stop/"))
    assert response.status_code == 202, response.text
    assert fake.statuses(job_id) == []


# -- delete --------------------------------------------------------------------------------------------------------
def test_delete_a_saved_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    response = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert response.status_code == 204 and response.content == b""
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 404
    assert jobs(fake, api) == []


def test_delete_while_executing_is_400_and_keeps_the_job(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job("sleep 600")
    fake.control.advance(EXECUTING_AT + 1)
    response = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert [j["id"] for j in jobs(fake, api)] == [job_id]
    assert current(fake, api, job_id) == "Executing"


def test_delete_a_completed_job_whose_cluster_still_runs_is_400(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(COMPLETED_AT + 5)  # cluster Stopping
    response = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert response.status_code == 400 and "detail" in response.json()
    assert get_job(fake, api, job_id)["id"] == job_id


def test_delete_once_the_cluster_stopped(fake: Fake, api: requests.Session) -> None:
    job_id = fake.start_job()
    fake.control.advance(STOPPED_AT + 1)
    assert api.delete(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 204
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).status_code == 404
    assert jobs(fake, api) == []


def test_delete_keeps_the_inputs_by_default(fake: Fake, api: requests.Session) -> None:
    file_id = fake.upload()["id"]
    job_id = fake.create_job(jobanalyses=[job_analysis(inputFiles=[{"id": file_id}])])["id"]
    assert api.delete(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 204
    assert api.get(fake.url(f"/api/v2/files/{file_id}/")).status_code == 200


def test_delete_with_delete_input_files_removes_the_inputs(fake: Fake, api: requests.Session) -> None:
    kept = fake.upload("other.txt")["id"]
    inputs = [fake.upload(f"in{i}.txt")["id"] for i in range(2)]
    job_id = fake.start_job(jobanalyses=[job_analysis(inputFiles=[{"id": i} for i in inputs])])
    fake.control.advance(STOPPED_AT + 1)
    response = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"), params={"deleteInputFiles": True})
    assert response.status_code == 204
    assert [api.get(fake.url(f"/api/v2/files/{i}/")).status_code for i in inputs] == [404, 404]
    assert api.get(fake.url(f"/api/v2/files/{kept}/")).status_code == 200


def test_delete_twice_is_404(fake: Fake, api: requests.Session) -> None:
    job_id = fake.create_job()["id"]
    api.delete(fake.url(f"/api/v2/jobs/{job_id}/")).raise_for_status()
    response = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert response.status_code == 404 and response.json() == NOT_FOUND
