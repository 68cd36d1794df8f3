"""Job share (reference rescale-api-v3-and-catalog.md, "Job share"): v2 `{email, message}` and v3 `{account,
message}` or `{email, message}`, reflected in `sharedWith` of the job (lists, v3 reads) and of its files."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

from .doe import doe_body, doe_files


def shared_job(fake: Fake, api: requests.Session) -> tuple[str, str]:
    file_id = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("in.txt", b"x\n")}).json()["id"]
    body = {"name": "shared", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                               "command": "echo hi", "inputFiles": [{"id": file_id}],
                                               "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}
    return api.post(fake.url("/api/v2/jobs/"), json=body).json()["id"], file_id


def shared_with_in_list(fake: Fake, api: requests.Session, version: str, job_id: str) -> list[str]:
    page = api.get(fake.url(f"/api/{version}/jobs/")).json()
    return next(j["sharedWith"] for j in page["results"] if j["id"] == job_id)


@pytest.mark.parametrize("version,body", [("v2", {"email": "colleague@example.com", "message": "look"}),
                                          ("v3", {"account": "colleague@example.com", "message": "look"}),
                                          ("v3", {"email": "colleague@example.com"})])
def test_share_reflects_in_job_and_files(fake: Fake, api: requests.Session, version: str,
                                         body: dict[str, Any]) -> None:
    job_id, file_id = shared_job(fake, api)
    response = api.post(fake.url(f"/api/{version}/jobs/{job_id}/share/"), json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"recipient": "colleague@example.com", "supportDesk": None}
    for v in ("v2", "v3"):
        assert shared_with_in_list(fake, api, v, job_id) == ["colleague@example.com"]
    assert api.get(fake.url(f"/api/v3/jobs/{job_id}/")).json()["sharedWith"] == ["colleague@example.com"]
    assert api.get(fake.url(f"/api/v2/files/{file_id}/")).json()["sharedWith"] == ["colleague@example.com"]
    # outputs written after the share are shared too
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(200)
    outputs = api.get(fake.url(f"/api/v2/jobs/{job_id}/files/")).json()["results"]
    assert outputs and all(f["sharedWith"] == ["colleague@example.com"] for f in outputs)


def test_share_twice_and_with_a_support_desk(fake: Fake, api: requests.Session) -> None:
    job_id, _ = shared_job(fake, api)
    for _ in range(2):
        api.post(fake.url(f"/api/v2/jobs/{job_id}/share/"), json={"email": "a@example.com"}).raise_for_status()
    desk = api.post(fake.url(f"/api/v2/jobs/{job_id}/share/"), json={"email": "support@rescale.com"}).json()
    assert desk == {"recipient": "support@rescale.com", "supportDesk": "rescale"}
    assert shared_with_in_list(fake, api, "v2", job_id) == ["a@example.com", "support@rescale.com"]
    other = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("other.txt", b"y")}).json()
    assert other["sharedWith"] == []


def test_bad_share_requests(fake: Fake, api: requests.Session) -> None:
    job_id, _ = shared_job(fake, api)
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/share/"), json={"message": "no one"}).status_code == 400
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/share/"), json={"email": "not an email"}).status_code == 400
    assert api.post(fake.url("/api/v2/jobs/nope/share/"), json={"email": "a@example.com"}).status_code == 404
    assert shared_with_in_list(fake, api, "v2", job_id) == []


def test_a_shared_sweep_shares_its_parameter_file_templates_scripts_and_run_outputs(fake: Fake,
                                                                                    api: requests.Session) -> None:
    ids = doe_files(fake)
    job_id = fake.create_job(**doe_body(ids, slots=5))["id"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/share/"), json={"email": "c@example.com"}).status_code == 200
    for file_id in ids.values():
        assert api.get(fake.url(f"/api/v2/files/{file_id}/")).json()["sharedWith"] == ["c@example.com"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(3600)
    outputs = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/files/")).json()["results"]
    assert outputs and all(f["sharedWith"] == ["c@example.com"] for f in outputs)


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_a_share_without_a_recipient_says_which_field_is_missing(fake: Fake, api: requests.Session,
                                                                 version: str) -> None:
    """Regression: a dict body with neither `email` nor `account` read "Expected a dictionary, but got dict."."""
    job_id, _ = shared_job(fake, api)
    for body in ({"message": "look"}, {}):
        response = api.post(fake.url(f"/api/{version}/jobs/{job_id}/share/"), json=body)
        assert response.status_code == 400
        assert response.json() == {"email": ["This field is required."]}
    refused = api.post(fake.url(f"/api/{version}/jobs/{job_id}/share/"), json=["a@example.com"])
    assert refused.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    for body in ({"account": "04-038224927", "message": ""}, {"email": "b@example.com", "message": ""}):
        assert api.post(fake.url(f"/api/{version}/jobs/{job_id}/share/"), json=body).status_code == 200
    assert shared_with_in_list(fake, api, "v2", job_id) == ["04-038224927", "b@example.com"]


def test_no_type_message_contradicts_itself() -> None:
    """The wording behind the share regression: a value of the right type that fits no branch is not "expected a
    dictionary, but got dict"; a value of another type still gets DRF's type message."""
    from jsonschema import Draft202012Validator

    from rescale_mock.drf_errors import field_errors

    def errors(schema: dict[str, Any], instance: Any) -> dict[str, Any]:
        return field_errors(Draft202012Validator(schema).iter_errors(instance), instance)

    both = {"type": "object", "oneOf": [{"type": "object"}, {"type": "object"}]}
    assert errors(both, {}) == {"non_field_errors": ["Invalid value."]}
    assert errors(both, []) == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    loose = {"properties": {"n": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+$"}]}}}
    assert errors(loose, {"n": "x"}) == {"n": ["A valid integer is required."]}
