"""The same jobs seen through v2 and v3 (reference §2.4, §3.3, §4.1; Interlink fixtures): v3 writes
`hardware.coreType` as `{"code": ...}`, its statuses add `notify` and `preventDuplicates`, its list takes
`ordering` and defaults to 25 a page, and its summaries' `jobStatus` carries `statusReason`."""
from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake, job_analysis

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied")  # some tests send bad requests on purpose

COMPLETED_AT, STOPPED_AT = 70.0, 111.0
JOB_STATUS_DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"


# -- helpers -----------------------------------------------------------------------------------------------------
def body(name: str = "job", core: Any = "granite", **extra: Any) -> dict[str, Any]:
    return {"name": name, "jobanalyses": [job_analysis(core=core)], **extra}


def create(fake: Fake, api: requests.Session, version: str = "v2", **kwargs: Any) -> dict[str, Any]:
    response = api.post(fake.url(f"/api/{version}/jobs/"), json=body(**kwargs))
    assert response.status_code == 201, response.text
    return response.json()


# -- one job, two views --------------------------------------------------------------------------------------------
def test_v3_writes_core_type_as_an_object(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    v2 = fake.get(f"/api/v2/jobs/{job_id}/")
    v3 = fake.get(f"/api/v3/jobs/{job_id}/")
    assert v2["jobanalyses"][0]["hardware"]["coreType"] == "granite"
    assert v3["jobanalyses"][0]["hardware"]["coreType"] == {"code": "granite"}
    assert v3["id"] == v2["id"] and v3["name"] == v2["name"]


def test_v3_job_adds_cluster_id_and_tags_and_has_no_job_status(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    v3 = fake.get(f"/api/v3/jobs/{job_id}/")
    assert v3["clusterId"] is None and v3["tags"] == []
    assert "jobStatus" not in v3


def test_v3_create_with_the_object_core_type(fake: Fake, api: requests.Session) -> None:
    """Seed 000's v3 body: coreType {"code": "hpc-3"}, isLowPriority "true", tags."""
    job = create(fake, api, "v3", core={"code": "hpc-3"}, isLowPriority="true", tags=["cfd", "nightly"])
    assert job["jobanalyses"][0]["hardware"]["coreType"] == {"code": "hpc-3"}
    assert job["isLowPriority"] is True and job["tags"] == ["cfd", "nightly"]
    assert fake.get(f"/api/v2/jobs/{job['id']}/")["jobanalyses"][0]["hardware"]["coreType"] == "hpc-3"


def test_v3_create_is_validated_like_v2(fake: Fake, api: requests.Session) -> None:
    payload = body(core={"code": "granite"})
    payload["jobanalyses"][0]["hardware"]["coresPerSlot"] = 1
    response = api.post(fake.url("/api/v3/jobs/"), json=payload)
    assert response.status_code == 400
    assert "coresPerSlot" in response.json()["jobanalyses"][0]["hardware"]
    assert fake.get("/api/v3/jobs/")["count"] == 0


def test_v3_statuses_add_notify_and_prevent_duplicates(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    fake.submit(job_id)
    fake.control.advance(COMPLETED_AT + 1)
    v2 = fake.get(f"/api/v2/jobs/{job_id}/statuses/")["results"]
    v3 = fake.get(f"/api/v3/jobs/{job_id}/statuses/")["results"]
    assert all(set(s) == {"id", "jobId", "status", "statusDate", "statusReason"} for s in v2)
    assert all(s["notify"] is False and s["preventDuplicates"] is False for s in v3)
    assert [{k: s[k] for k in s if k not in ("notify", "preventDuplicates")} for s in v3] == v2
    assert all(re.fullmatch(JOB_STATUS_DATE, s["statusDate"]) for s in v3)


def test_v3_list_summary_carries_the_status_reason(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    fake.submit(job_id)
    fake.control.advance(COMPLETED_AT + 1)
    (v2,) = fake.get("/api/v2/jobs/")["results"]
    (v3,) = fake.get("/api/v3/jobs/")["results"]
    assert "statusReason" not in v2["jobStatus"]
    assert v3["jobStatus"] == {"content": "Completed", "labelClass": "", "useLabel": False,
                               "statusReason": "Completed successfully"}
    assert v3["clusterStatusDisplay"] == v2["clusterStatusDisplay"]


def test_v3_list_ordering(fake: Fake, api: requests.Session) -> None:
    ids = {name: create(fake, api, name=name)["id"] for name in ("beta", "alpha", "gamma")}

    def order(**params: Any) -> list[str]:
        return [j["name"] for j in fake.get("/api/v3/jobs/", **params)["results"]]

    assert order() == ["gamma", "alpha", "beta"]
    assert order(ordering="-dateInserted") == ["gamma", "alpha", "beta"]
    assert order(ordering="dateInserted") == ["beta", "alpha", "gamma"]
    assert order(ordering="name") == ["alpha", "beta", "gamma"]
    assert order(ordering="-name") == ["gamma", "beta", "alpha"]
    assert len(ids) == 3


def test_v3_list_rejects_an_unknown_ordering(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v3/jobs/"), params={"ordering": "owner"})
    assert response.status_code == 400 and "ordering" in response.json()


def test_v3_list_pages_by_25(fake: Fake, api: requests.Session) -> None:
    for i in range(26):
        create(fake, api, name=f"job {i}")
    v3 = fake.get("/api/v3/jobs/")
    v2 = fake.get("/api/v2/jobs/")
    assert (v3["count"], len(v3["results"])) == (26, 25)
    assert (v2["count"], len(v2["results"])) == (26, 10)


def test_v3_list_filters_like_v2(fake: Fake, api: requests.Session) -> None:
    done = create(fake, api)["id"]
    fake.submit(done)
    fake.control.advance(COMPLETED_AT + 1)
    create(fake, api)
    found = fake.get("/api/v3/jobs/", state="completed", job_status="COMPLETED")["results"]
    assert [j["id"] for j in found] == [done]


def test_v3_stop(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    fake.submit(job_id)
    fake.control.advance(50)
    response = api.post(fake.url(f"/api/v3/jobs/{job_id}/stop/"))
    assert response.status_code == 202 and response.content == b""
    latest = fake.get(f"/api/v3/jobs/{job_id}/statuses/")["results"][0]
    assert (latest["status"], latest["statusReason"]) == ("Stopping", "User Terminated")


def test_v3_delete_follows_the_cluster_rule(fake: Fake, api: requests.Session) -> None:
    job_id = create(fake, api)["id"]
    fake.submit(job_id)
    fake.control.advance(COMPLETED_AT + 1)
    response = api.delete(fake.url(f"/api/v3/jobs/{job_id}/"))
    assert response.status_code == 400 and set(response.json()) == {"detail"}
    fake.control.advance(STOPPED_AT)
    assert api.delete(fake.url(f"/api/v3/jobs/{job_id}/")).status_code == 204
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 404
