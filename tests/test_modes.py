"""Modes for behaviour that changed or is unknown (reference rescale-api-v3-and-catalog.md; the seed notebook):
re-submit and PATCH of a finished job (400 by default, 200 with no effect when asked), how long a job's cluster
takes to stop after the job (the delete-after-Completed window), and v2 `hardware.coreType` as a string or an
object. Each is a server flag and a per-tenant control-plane setting."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake, ServedProcess

COMPLETED_AT = 70.0  # default plan: Executing at 45 s, 10 s of run, 15 s of sync


def body(name: str = "job") -> dict[str, Any]:
    return {"name": name, "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
                                           "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}


def started(fake: Fake, api: requests.Session, version: str = "v2") -> str:
    job_id = api.post(fake.url(f"/api/{version}/jobs/"), json=body()).json()["id"]
    assert api.post(fake.url(f"/api/{version}/jobs/{job_id}/submit/")).status_code == 200
    return job_id


# -- finished job changes --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_resubmit_is_400_by_default_and_changes_nothing(fake: Fake, api: requests.Session, version: str) -> None:
    assert fake.control.settings()["finishedJobChanges"] == "refuse"
    job_id = started(fake, api, version)
    again = api.post(fake.url(f"/api/{version}/jobs/{job_id}/submit/"))
    assert again.status_code == 400 and again.json() == {"detail": "The job has already been submitted."}
    fake.control.advance(COMPLETED_AT + 60)
    before = fake.history(job_id)
    assert api.post(fake.url(f"/api/{version}/jobs/{job_id}/submit/")).status_code == 400
    assert fake.history(job_id) == before


def test_patch_of_a_finished_job_is_400_by_default(fake: Fake, api: requests.Session) -> None:
    job_id = started(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    before = api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json()
    response = api.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json={"name": "renamed"})
    assert response.status_code == 400 and "detail" in response.json()
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json() == before
    saved = api.post(fake.url("/api/v2/jobs/"), json=body()).json()["id"]  # a saved job still changes
    assert api.patch(fake.url(f"/api/v2/jobs/{saved}/"), json={"name": "renamed"}).json()["name"] == "renamed"


def test_ignore_mode_answers_200_with_no_effect(fake: Fake, api: requests.Session) -> None:
    """What the seed notebook observed (cells 44-45)."""
    assert fake.control.settings(finishedJobChanges="ignore")["finishedJobChanges"] == "ignore"
    job_id = started(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    before = api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json(), fake.history(job_id)
    assert api.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json={"name": "renamed"}).status_code == 200
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    assert (api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json(), fake.history(job_id)) == before


def test_settings_are_per_tenant(fake: Fake) -> None:
    fake.control.settings(finishedJobChanges="ignore", v2CoreType="object")
    other_key = fake.control.create_tenant()["apiKey"]
    other = requests.get(fake.url("/_fake/settings/"), headers={"Authorization": f"Token {other_key}"}, timeout=30)
    assert other.json() == {"catalogMode": "strict", "finishedJobChanges": "refuse", "v2CoreType": "string"}
    bad = requests.put(fake.url("/_fake/settings/"), json={"finishedJobChanges": "maybe"}, headers=fake.headers,
                       timeout=30)
    assert bad.status_code == 400 and fake.control.settings()["finishedJobChanges"] == "ignore"


# -- the cluster's stop after the job --------------------------------------------------------------------------------
def test_delete_right_after_completed_meets_the_cluster_window(fake: Fake, api: requests.Session) -> None:
    job_id = started(fake, api)
    fake.control.advance(COMPLETED_AT + 1)
    assert fake.history(job_id)[-1] == "Completed"
    refused = api.delete(fake.url(f"/api/v2/jobs/{job_id}/"))
    assert refused.status_code == 400 and "detail" in refused.json()


@pytest.mark.parametrize("seconds", [0, 600])
def test_cluster_stop_seconds_sets_the_window(fake: Fake, api: requests.Session, seconds: float) -> None:
    fake.control.scenario(outcome="succeed", clusterStopSeconds=seconds)
    job_id = started(fake, api, "v3")
    fake.control.advance(COMPLETED_AT + 2)
    assert fake.history(job_id)[-1] == "Completed"
    cluster = [s["status"] for s in api.get(fake.url(f"/api/v2/jobs/{job_id}/cluster_statuses/")).json()["results"]]
    if seconds == 0:
        assert cluster[:2] == ["Stopped", "Stopping"]
        assert api.delete(fake.url(f"/api/v3/jobs/{job_id}/")).status_code == 204
    else:
        assert cluster[0] == "Stopping"
        fake.control.advance(seconds - 12)
        assert api.delete(fake.url(f"/api/v3/jobs/{job_id}/")).status_code == 400
        fake.control.advance(20)
        assert api.delete(fake.url(f"/api/v3/jobs/{job_id}/")).status_code == 204


# -- v2 coreType as an object ----------------------------------------------------------------------------------------
def test_v2_core_type_string_by_default_or_object(fake: Fake, api: requests.Session) -> None:
    job_id = api.post(fake.url("/api/v2/jobs/"), json=body()).json()["id"]
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json()["jobanalyses"][0]["hardware"]["coreType"] == "granite"
    fake.control.settings(v2CoreType="object")
    core_type = api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json()["jobanalyses"][0]["hardware"]["coreType"]
    assert core_type["code"] == "granite" and core_type["name"] and "compute" in core_type
    assert api.get(fake.url(f"/api/v3/jobs/{job_id}/")).json()["jobanalyses"][0]["hardware"]["coreType"] == \
        {"code": "granite"}


# -- server flags --------------------------------------------------------------------------------------------------
def test_server_flags_set_the_defaults(tmp_path: Path) -> None:
    key = "modes-key-00000001"
    process = ServedProcess(tmp_path / "data", (key,), "--finished-job-changes", "ignore", "--v2-core-type", "object",
                            "--catalog-mode", "lenient", "--clock-mode", "manual", "--validate-responses")
    try:
        headers = {"Authorization": f"Token {key}"}
        settings = requests.get(f"{process.base_url}/_fake/settings/", headers=headers, timeout=30).json()
        assert settings == {"catalogMode": "lenient", "finishedJobChanges": "ignore", "v2CoreType": "object"}
        job = requests.post(f"{process.base_url}/api/v2/jobs/", json=body(), headers=headers, timeout=30).json()
        assert job["jobanalyses"][0]["hardware"]["coreType"]["code"] == "granite"
        for _ in range(2):
            assert requests.post(f"{process.base_url}/api/v2/jobs/{job['id']}/submit/", headers=headers,
                                 timeout=30).status_code == 200
    finally:
        process.close()
