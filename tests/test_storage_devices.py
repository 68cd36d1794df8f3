"""High-performance storage devices end to end, v2 and v3 (reference rescale-api-v3-and-catalog.md,
"High-performance storage devices"): create, list (paged, `active`), get, statuses through a life computed from the
tenant's clock (submit/, Started, shutdown/ or walltime, Stopped), file-downloads/, a job attached to a device that
waits for it to be Started, and a device that fails to start."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

STARTED_AFTER = 40.0  # Pending, Queued at 1 s, Starting at 5 s, Started at 40 s (as persistent clusters)
V2_BODY = {"name": "scratch", "storageSize": 2, "hardware": {"walltime": 1, "coresPerSlot": 18, "coreType": "hps-3"},
           "firstAlert": 80, "secondAlert": 90, "autoextend": True, "autoextendPercent": 20, "walltimeAlert": True,
           "walltimeAlertHours": 1, "region": {"id": "aws-us-east-1"}}
V3_BODY = {"name": "scratch", "storage_size_mb": 3000, "walltime": 1, "cores_per_slot": 18, "core_type": "hps-3",
           "run_low_priority": False}
JOB = {"name": "on hps", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                          "command": "ls ~/storage", "hardware": {"coreType": "emerald",
                                                                                  "coresPerSlot": 1}}]}


def create(fake: Fake, api: requests.Session, version: str) -> dict[str, Any]:
    response = api.post(fake.url(f"/api/{version}/storage-devices/"), json=V3_BODY if version == "v3" else V2_BODY)
    assert response.status_code == 201, response.text
    return response.json()


def statuses(fake: Fake, api: requests.Session, version: str, device_id: str) -> list[str]:
    page = api.get(fake.url(f"/api/{version}/storage-devices/{device_id}/statuses/"), params={"page_size": 50})
    return [s["status"] for s in page.json()["results"]]


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_a_device_lives_from_submit_to_walltime(fake: Fake, api: requests.Session, version: str) -> None:
    device = create(fake, api, version)
    assert device["status"] == "Not Started" and device["clusterId"]
    assert device["urls"]["start"].endswith(f"/api/{version}/storage-devices/{device['id']}/submit/")
    assert device["storageSize"] == (2 if version == "v2" else 3)
    assert device["hardware"] == {"walltime": 1, "coresPerSlot": 18, "coreType": "hps-3"}
    if version == "v2":
        assert device["region"] == {"id": "aws-us-east-1", "name": "AWS US East (N. Virginia)"}
        assert (device["firstAlert"], device["autoextendPercent"], device["walltimeAlert"]) == (80, 20, True)
    submitted = api.post(fake.url(f"/api/{version}/storage-devices/{device['id']}/submit/"))
    assert submitted.status_code == 200 and submitted.content == b""
    assert api.post(fake.url(f"/api/{version}/storage-devices/{device['id']}/submit/")).status_code == 400
    fake.control.advance(STARTED_AFTER + 1)
    assert statuses(fake, api, version, device["id"]) == ["Started", "Starting", "Queued", "Pending", "Not Started"]
    active = api.get(fake.url(f"/api/{version}/storage-devices/"), params={"active": "true"}).json()
    assert [d["id"] for d in active["results"]] == [device["id"]]
    fake.control.advance(3600 + 60)  # the walltime (an hour from Started) stops it
    assert statuses(fake, api, version, device["id"])[:3] == ["Stopped", "Stopping", "Stop Requested"]
    assert api.get(fake.url(f"/api/{version}/storage-devices/"), params={"active": "true"}).json()["count"] == 0
    inactive = api.get(fake.url(f"/api/{version}/storage-devices/"), params={"active": "false"}).json()
    assert [d["status"] for d in inactive["results"]] == ["Stopped"]


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_shutdown_get_paging_and_errors(fake: Fake, api: requests.Session, version: str) -> None:
    ids = [create(fake, api, version)["id"] for _ in range(3)]
    page = api.get(fake.url(f"/api/{version}/storage-devices/"), params={"page_size": 2}).json()
    assert page["count"] == 3 and [d["id"] for d in page["results"]] == ids[::-1][:2] and page["next"]
    shutdown = fake.url(f"/api/{version}/storage-devices/{ids[0]}/shutdown/")
    assert api.post(shutdown).status_code == 400  # never started
    api.post(fake.url(f"/api/{version}/storage-devices/{ids[0]}/submit/")).raise_for_status()
    fake.control.advance(STARTED_AFTER + 1)
    assert api.get(fake.url(f"/api/{version}/storage-devices/{ids[0]}/")).json()["status"] == "Started"
    assert api.post(shutdown).status_code == 202
    assert api.post(shutdown).status_code == 202  # already stopping: no effect
    fake.control.advance(60)
    device = api.get(fake.url(f"/api/{version}/storage-devices/{ids[0]}")).json()
    assert device["status"] == "Stopped" and statuses(fake, api, version, ids[0])[0] == "Stopped"
    assert api.get(fake.url(f"/api/{version}/storage-devices/nope/")).status_code == 404


def test_v2_device_errors(fake: Fake, api: requests.Session) -> None:
    bad_region = dict(V2_BODY, region={"id": "mars-1"})
    assert api.post(fake.url("/api/v2/storage-devices/"), json=bad_region).status_code == 400
    assert api.post(fake.url("/api/v2/storage-devices/"), json={"storageSize": 1}).status_code == 400
    regions = api.get(fake.url("/api/v2/storage-devices/available-regions/")).json()
    assert {"id": "aws-us-east-1", "name": "AWS US East (N. Virginia)"} in regions


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_file_downloads_need_a_started_device_and_real_files(fake: Fake, api: requests.Session, version: str) -> None:
    device_id = create(fake, api, version)["id"]
    file_id = api.post(fake.url(f"/api/{version}/files/contents/"), files={"file": ("in.dat", b"1")}).json()["id"]
    body = {"files": [{"id": file_id}], "outputDir": "inputs/"}
    url = fake.url(f"/api/{version}/storage-devices/{device_id}/file-downloads/")
    assert api.post(url, json=body).status_code == 400  # not started
    api.post(fake.url(f"/api/{version}/storage-devices/{device_id}/submit/")).raise_for_status()
    fake.control.advance(STARTED_AFTER + 1)
    assert api.post(url, json=body).status_code == 202
    missing = api.post(url, json={"files": [{"id": "nope"}]})
    assert missing.status_code == 400 and missing.json() == {"files": [{"id": ['Invalid pk "nope" - object does not exist.']}]}


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_an_attached_job_waits_for_its_device(fake: Fake, api: requests.Session, version: str) -> None:
    """The python-sdk's JobBuilder.with_hps: wait for the device, attach it, submit the job."""
    device_id = create(fake, api, version)["id"]
    job_id = api.post(fake.url(f"/api/{version}/jobs/"), json=JOB).json()["id"]
    attach = {"storage_device": {"id": device_id}, "jobanalyses": [{"order": 0, "input_files": [
        {"input_file_type": "COPY", "source_path": "/data/x", "name": "x", "decompress": True, "output_path": ""}]}]} \
        if version == "v3" else {"storageDevice": {"id": device_id}}
    attached = api.post(fake.url(f"/api/{version}/jobs/{job_id}/storage-devices/"), json=attach)
    assert attached.status_code == 201 and attached.json() == {"id": device_id}
    api.post(fake.url(f"/api/{version}/jobs/{job_id}/submit/")).raise_for_status()
    fake.control.advance(600)
    assert fake.history(job_id) == ["Pending"]  # the device was never submitted
    api.post(fake.url(f"/api/{version}/storage-devices/{device_id}/submit/")).raise_for_status()
    fake.control.advance(STARTED_AFTER - 1)
    assert fake.history(job_id) == ["Pending"]
    fake.control.advance(300)
    history = fake.history(job_id)
    assert history[-1] == "Completed" and history[0] == "Pending"
    started = {s["status"]: s["statusDate"] for s in
               api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"]}
    device_started = next(s["statusDate"] for s in api.get(
        fake.url(f"/api/v2/storage-devices/{device_id}/statuses/")).json()["results"] if s["status"] == "Started")
    assert started["Waiting for Queue"] > device_started
    log = api.get(fake.url(f"/api/v2/jobs/{job_id}/files/"), params={"search": "process_output.log"}).json()
    text = api.get(fake.url(f"/api/v2/files/{log['results'][0]['id']}/contents/")).text
    assert f"mounted at ~/storage_{device_id}/" in text


def test_a_device_that_fails_to_start_ends_its_jobs(fake: Fake, api: requests.Session) -> None:
    device_id = create(fake, api, "v2")["id"]
    scenario = requests.put(fake.url(f"/_fake/storage-devices/{device_id}/scenario/"),
                            json={"outcome": "fail_to_start"}, headers=fake.headers, timeout=30)
    assert scenario.status_code == 200
    job_id = api.post(fake.url("/api/v2/jobs/"), json=JOB).json()["id"]
    api.post(fake.url(f"/api/v2/jobs/{job_id}/storage-devices/"), json={"storageDevice": {"id": device_id}})
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    api.post(fake.url(f"/api/v2/storage-devices/{device_id}/submit/")).raise_for_status()
    fake.control.advance(STARTED_AFTER + 1)
    assert statuses(fake, api, "v2", device_id)[:2] == ["Error", "Starting"]
    fake.control.advance(60)
    assert statuses(fake, api, "v2", device_id)[0] == "Stopped"
    final = api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"][0]
    assert (final["status"], final["statusReason"]) == ("Completed", "The storage device is not available")


def test_attach_errors(fake: Fake, api: requests.Session) -> None:
    job_id = api.post(fake.url("/api/v2/jobs/"), json=JOB).json()["id"]
    unknown = api.post(fake.url(f"/api/v2/jobs/{job_id}/storage-devices/"), json={"storageDevice": {"id": "nope"}})
    assert unknown.status_code == 400 and "storageDevice" in unknown.json()
    device_id = create(fake, api, "v2")["id"]
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    late = api.post(fake.url(f"/api/v2/jobs/{job_id}/storage-devices/"), json={"storageDevice": {"id": device_id}})
    assert late.status_code == 400 and "detail" in late.json()


@pytest.mark.rescale_mock_execute
def test_with_real_runs_on_a_job_on_a_device_is_still_simulated(fake: Fake, api: requests.Session) -> None:
    """A real process could not mount the device: the job waits for it, as without --execute."""
    device_id = create(fake, api, "v2")["id"]
    job_id = api.post(fake.url("/api/v2/jobs/"), json=JOB).json()["id"]
    api.post(fake.url(f"/api/v2/jobs/{job_id}/storage-devices/"), json={"storageDevice": {"id": device_id}})
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    assert fake.control.execution()["running"] + fake.control.execution()["waiting"] == 0
    fake.control.advance(600)
    assert fake.history(job_id) == ["Pending"]  # waiting for the device, never run
