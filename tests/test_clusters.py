"""Persistent clusters through /api/v3/ (seed 000) and jobs queued on them."""
from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied")  # some tests send bad requests on purpose

# Seed 000's bodies, as written.
CLUSTER = {
    "name": "Untitled Cluster 3",
    "hardware": {"coresPerSlot": 1, "slots": 1, "coreType": {"code": "hpc-3"}, "walltime": 10},
    "installedAnalyses": [{"analysis": {"code": "user_included", "version": "0"}}],
    "runLowPriority": True,
}
JOB = {
    "name": "Test Job",
    "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"},
        "command": "echo hello",
        "flags": {},
        "hardware": {"coresPerSlot": 1, "slots": 1, "coreType": {"code": "hpc-3"}, "walltime": 10},
        "inputFiles": [],
    }],
    "isLowPriority": "true",
}


def statuses(api: requests.Session, fake: Fake, path: str) -> list[str]:
    return [s["status"] for s in api.get(fake.url(path)).json()["results"]]


def new_cluster(api: requests.Session, fake: Fake, **changes: Any) -> str:
    response = api.post(fake.url("/api/v3/clusters/"), json={**CLUSTER, **changes})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def started_cluster(api: requests.Session, fake: Fake) -> str:
    cluster_id = new_cluster(api, fake)
    assert api.post(fake.url(f"/api/v3/clusters/{cluster_id}/start/")).status_code == 204
    fake.control.advance(60)
    return cluster_id


def new_job(api: requests.Session, fake: Fake, command: str = "echo hello") -> str:
    body = {**JOB, "jobanalyses": [{**JOB["jobanalyses"][0], "command": command}]}
    response = api.post(fake.url("/api/v3/jobs/"), json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_seed_000_flow(fake: Fake, api: requests.Session) -> None:
    created = api.post(fake.url("/api/v3/clusters/"), json=CLUSTER)
    assert created.status_code == 201
    cluster = created.json()
    assert cluster["status"] == "Not Started" and cluster["hardware"]["coreType"] == {"code": "hpc-3"}
    start = api.post(fake.url(f"/api/v3/clusters/{cluster['id']}/start/"))
    assert (start.status_code, start.content) == (204, b"")
    fake.control.advance(60)
    page = api.get(fake.url(f"/api/v3/clusters/{cluster['id']}/statuses/")).json()
    assert [s["status"] for s in page["results"]] == ["Started", "Starting", "Queued", "Pending", "Not Started"]
    assert {s["clusterId"] for s in page["results"]} == {cluster["id"]}
    dates = [s["statusDate"] for s in page["results"]]
    assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates) and dates[0].endswith("Z")

    job_id = new_job(api, fake)
    submitted = api.post(fake.url(f"/api/clusters/{cluster['id']}/jobs/"), json={"id": job_id, "submit": True})
    assert submitted.status_code == 201
    assert set(submitted.json()) == {"id"} and submitted.json()["id"] != job_id
    fake.control.advance(60)
    assert statuses(api, fake, f"/api/v3/jobs/{job_id}/statuses/")[0] == "Completed"
    assert statuses(api, fake, f"/api/v3/clusters/{cluster['id']}/statuses/")[0] == "Started"  # keeps running


def test_jobs_on_one_cluster_run_one_after_another(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    first, second = new_job(api, fake, "sleep 100"), new_job(api, fake, "sleep 100")
    for job_id in (first, second):
        assert api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": True}).ok
    fake.control.advance(10)
    assert statuses(api, fake, f"/api/v3/jobs/{first}/statuses/")[0] == "Executing"
    assert statuses(api, fake, f"/api/v3/jobs/{second}/statuses/") == ["Waiting for Cluster", "Pending"]
    fake.control.advance(120)
    assert statuses(api, fake, f"/api/v3/jobs/{first}/statuses/")[0] == "Completed"
    assert statuses(api, fake, f"/api/v3/jobs/{second}/statuses/")[0] == "Executing"
    instances = api.get(fake.url(f"/api/v2/jobs/{second}/instances/")).json()
    assert instances["count"] == 1 and instances["results"][0]["clusterId"] == cluster_id


def test_job_waits_for_the_cluster_to_start(fake: Fake, api: requests.Session) -> None:
    cluster_id = new_cluster(api, fake)
    job_id = new_job(api, fake)
    assert api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": "true"}).ok
    fake.control.advance(600)
    assert statuses(api, fake, f"/api/v3/jobs/{job_id}/statuses/") == ["Waiting for Cluster", "Pending"]
    api.post(fake.url(f"/api/v3/clusters/{cluster_id}/start/"))
    fake.control.advance(100)
    assert statuses(api, fake, f"/api/v3/jobs/{job_id}/statuses/")[0] == "Completed"


def test_stop_goes_stop_requested_stopping_stopped_and_ends_waiting_jobs(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    job_id = new_job(api, fake, "sleep inf")
    api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": True})
    fake.control.advance(30)
    assert api.post(fake.url(f"/api/v3/clusters/{cluster_id}/stop/")).status_code == 202
    fake.control.advance(60)
    assert statuses(api, fake, f"/api/v3/clusters/{cluster_id}/statuses/")[:3] == [
        "Stopped", "Stopping", "Stop Requested"]
    job_statuses = api.get(fake.url(f"/api/v3/jobs/{job_id}/statuses/")).json()["results"]
    assert job_statuses[0]["status"] == "Completed"
    assert job_statuses[0]["statusReason"] == "The cluster was stopped"
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/instances/")).json()["count"] == 0


def test_walltime_stops_the_cluster(fake: Fake, api: requests.Session) -> None:
    cluster_id = new_cluster(api, fake, hardware={**CLUSTER["hardware"], "walltime": 1})
    api.post(fake.url(f"/api/v3/clusters/{cluster_id}/start/"))
    fake.control.advance(40 + 3600 + 60)
    assert statuses(api, fake, f"/api/v3/clusters/{cluster_id}/statuses/")[0] == "Stopped"


@pytest.mark.parametrize("first", ["start", "stop"])
def test_start_again_is_400_and_changes_nothing(fake: Fake, api: requests.Session, first: str) -> None:
    cluster_id = started_cluster(api, fake)
    if first == "stop":
        api.post(fake.url(f"/api/v3/clusters/{cluster_id}/stop/"))
        fake.control.advance(60)
    before = statuses(api, fake, f"/api/v3/clusters/{cluster_id}/statuses/")
    again = api.post(fake.url(f"/api/v3/clusters/{cluster_id}/start/"))
    assert again.status_code == 400 and "detail" in again.json()
    assert statuses(api, fake, f"/api/v3/clusters/{cluster_id}/statuses/") == before


def test_stop_of_a_cluster_never_started_is_400(fake: Fake, api: requests.Session) -> None:
    cluster_id = new_cluster(api, fake)
    response = api.post(fake.url(f"/api/v3/clusters/{cluster_id}/stop/"))
    assert response.status_code == 400 and response.json() == {"detail": "The cluster has not been started."}


def test_submitting_to_a_stopped_cluster_is_400(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    api.post(fake.url(f"/api/v3/clusters/{cluster_id}/stop/"))
    job_id = new_job(api, fake)
    response = api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": True})
    assert response.status_code == 400 and "detail" in response.json()
    assert statuses(api, fake, f"/api/v3/jobs/{job_id}/statuses/") == []


def test_submitting_a_job_twice_is_400(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    job_id = new_job(api, fake)
    api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": True})
    again = api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": job_id, "submit": True})
    assert again.status_code == 400


def test_another_tenants_job_or_cluster_is_not_found(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    other = requests.Session()
    other.headers["Authorization"] = f"Token {fake.control.create_tenant()['apiKey']}"
    their_job = other.post(fake.url("/api/v3/jobs/"), json=JOB).json()["id"]
    response = api.post(fake.url(f"/api/v3/clusters/{cluster_id}/jobs/"), json={"id": their_job, "submit": True})
    assert response.status_code == 400 and response.json() == {"id": [f'Invalid pk "{their_job}" - object does not exist.']}
    assert other.get(fake.url(f"/api/v3/clusters/{cluster_id}/")).status_code == 404
    assert other.post(fake.url(f"/api/v3/clusters/{cluster_id}/start/")).status_code == 404


def test_unknown_core_type_is_400(fake: Fake, api: requests.Session) -> None:
    body = {**CLUSTER, "hardware": {**CLUSTER["hardware"], "coreType": {"code": "unobtainium"}}}
    response = api.post(fake.url("/api/v3/clusters/"), json=body)
    assert response.status_code == 400
    assert response.json() == {"hardware": {"coreType": ['"unobtainium" is not a valid core type.']}}
    assert api.get(fake.url("/api/v3/clusters/")).json()["count"] == 0


def test_v3_job_created_for_the_cluster_runs_after_a_v2_submit(fake: Fake, api: requests.Session) -> None:
    cluster_id = started_cluster(api, fake)
    created = api.post(fake.url("/api/v3/jobs/"), json={**JOB, "clusterId": cluster_id})
    assert created.status_code == 201 and created.json()["clusterId"] == cluster_id
    job_id = created.json()["id"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(60)
    assert statuses(api, fake, f"/api/v2/jobs/{job_id}/statuses/")[0] == "Completed"
    cluster_view = statuses(api, fake, f"/api/v2/jobs/{job_id}/cluster_statuses/")
    assert cluster_view[0] == "Started"


def test_same_jobs_through_v2_and_v3(fake: Fake, api: requests.Session) -> None:
    job_id = new_job(api, fake)
    v2, v3 = api.get(fake.url(f"/api/v2/jobs/{job_id}/")).json(), api.get(fake.url(f"/api/v3/jobs/{job_id}/")).json()
    assert v2["jobanalyses"][0]["hardware"]["coreType"] == "hpc-3"
    assert v3["jobanalyses"][0]["hardware"]["coreType"] == {"code": "hpc-3"}
    assert [j["id"] for j in api.get(fake.url("/api/v2/jobs/")).json()["results"]] == [job_id]


def test_seed_000_curl_commands_unchanged(fake: Fake, tmp_path: Any) -> None:
    """The seed's shell scripts, with only the host and the token changed."""
    base = fake.base_url
    token = f"RESCALE_API_TOKEN={fake.api_key}"
    (tmp_path / "testCluster.json").write_text(json.dumps(CLUSTER))
    (tmp_path / "testJob.json").write_text(json.dumps(JOB))

    def sh(script: str) -> str:
        done = subprocess.run(["bash", "-c", f"{token}; {script}"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    created = sh(f'curl -s -X POST -H "Authorization: Token ${{RESCALE_API_TOKEN}}" -H "Content-Type: application/json" '
                 f'{base}/api/v3/clusters/ -d "$(cat testCluster.json)"')
    cluster_id = json.loads(created)["id"]
    assert sh(f'curl -s -X POST -H "Authorization: Token ${{RESCALE_API_TOKEN}}" {base}/api/v3/clusters/{cluster_id}/start/') == ""
    fake.control.advance(60)
    polled = json.loads(sh(f'curl -s -X GET -H "Authorization: Token ${{RESCALE_API_TOKEN}}" '
                                         f'{base}/api/v3/clusters/{cluster_id}/statuses/'))
    assert polled["results"][0]["status"] == "Started"
    job = json.loads(sh(f'curl -s -X POST -H "Authorization: Token ${{RESCALE_API_TOKEN}}" '
                                      f'-H "Content-Type: application/json" {base}/api/v3/jobs/ -d "$(cat testJob.json)"'))
    body = '{"id": "%s", "submit": true}' % job["id"]
    association = sh(f'curl -s -X POST -H "Authorization: Token ${{RESCALE_API_TOKEN}}" -H "Content-Type: application/json" '
                     f"{base}/api/clusters/{cluster_id}/jobs/ -d '{body}'")
    assert set(json.loads(association)) == {"id"}
