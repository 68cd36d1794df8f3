"""The session and the errors, over real HTTP against the fake (in this process and a served one), with the control
plane's fault injection: errors keyed by status, retries with backoff for idempotent calls and for 429/503 with
Retry-After, and never a blind retry of a POST (no job is ever created twice). Every wait goes through the injected
`sleep`: no test here sleeps for real (the policy's own rules are in test_client_retry.py)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from rescale_client import (
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    RescaleClient,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    TransportError,
    Unauthorized,
)
from rescale_client.errors import flatten_field_errors, retry_after_seconds
from rescale_client.retry import IDEMPOTENT, RETRY_STATUSES, RetryPolicy
from rescale_mock.testing import Fake

JOB: dict[str, Any] = {
    "name": "client session test",
    "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo hello",
                     "hardware": {"coreType": "granite", "coresPerSlot": 2}}],
}


@pytest.fixture
def client(fake: Fake) -> Iterator[RescaleClient]:
    with RescaleClient(fake.base_url, fake.api_key, progress=False, sleep=unexpected_sleep) as c:
        yield c


def unexpected_sleep(seconds: float) -> None:
    raise AssertionError(f"this test's client was not expected to wait ({seconds} s)")


def calls(fake: Fake, method: str, path: str) -> list[dict[str, Any]]:
    """The journal's requests to `path`, oldest first."""
    return list(reversed(fake.control.journal(method=method, path=path)))


# -- errors ---------------------------------------------------------------------------------------------------------
def test_400_carries_the_parsed_field_errors(client: RescaleClient) -> None:
    bad = {**JOB, "jobanalyses": [{**JOB["jobanalyses"][0], "hardware": {"coreType": "granite", "coresPerSlot": 1}}]}
    with pytest.raises(BadRequest) as caught:
        client.jobs.create_job(body=bad)
    error = caught.value
    assert error.status == 400 and error.method == "POST" and error.url.endswith("/api/v2/jobs/")
    assert list(error.field_errors) == ["jobanalyses[0].hardware.coresPerSlot"]
    assert "not a valid core count" in error.field_errors["jobanalyses[0].hardware.coresPerSlot"][0]
    assert error.body == {"jobanalyses": [{"hardware": {"coresPerSlot": error.field_errors[
        "jobanalyses[0].hardware.coresPerSlot"]}}]}
    assert error.request is not None and error.response.status_code == 400
    assert "jobanalyses[0].hardware.coresPerSlot" in str(error)


def test_400_on_a_query_parameter(client: RescaleClient) -> None:
    with pytest.raises(BadRequest) as caught:
        client.jobs.list_jobs(page_size="abc")  # type: ignore[arg-type]
    assert "page_size" in caught.value.field_errors


def test_401_and_the_key_is_never_shown(fake: Fake) -> None:
    with RescaleClient(fake.base_url, "not-a-valid-key-000000") as client, pytest.raises(Unauthorized) as caught:
        client.users.get_current_user()
    assert caught.value.detail == "Invalid token."
    assert "not-a-valid-key" not in str(caught.value) and "not-a-valid-key" not in repr(caught.value)


def test_404_and_invalid_page(client: RescaleClient) -> None:
    with pytest.raises(NotFound) as caught:
        client.jobs.get_job(job_id="nOsUcH")
    assert (caught.value.status, caught.value.detail) == (404, "Not found.")
    with pytest.raises(NotFound, match="Invalid page"):
        client.catalog.list_core_types(page=999)


@pytest.mark.parametrize("status, error", [(403, Forbidden), (409, Conflict), (500, ServerError),
                                           (502, ServerError), (503, ServiceUnavailable), (418, APIError)])
def test_statuses_map_to_the_hierarchy(fake: Fake, status: int, error: type[APIError]) -> None:
    fake.control.add_fault("status", method="GET", path="/api/v2/users/me/", status=status, times=1)
    with RescaleClient(fake.base_url, fake.api_key, retries=0) as client, pytest.raises(error) as caught:
        client.users.get_current_user()
    assert type(caught.value) is error and caught.value.status == status
    assert isinstance(caught.value.body, dict) and caught.value.detail


def test_flatten_field_errors() -> None:
    assert flatten_field_errors({"name": ["required"], "jobanalyses": [{}, {"hardware": {"coreType": ["bad"]}}]}) == {
        "name": ["required"], "jobanalyses[1].hardware.coreType": ["bad"]}
    assert flatten_field_errors(["not a dict"]) == {"non_field_errors": ["not a dict"]}


def test_retry_after_parsing() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "3"
    assert retry_after_seconds(response) == 3.0
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(response) == 0.0  # a date in the past
    del response.headers["Retry-After"]
    assert retry_after_seconds(response) is None


# -- transport retries: idempotent calls ------------------------------------------------------------------------------
def test_default_retry_policy(client: RescaleClient) -> None:
    assert IDEMPOTENT == {"GET", "HEAD", "OPTIONS", "DELETE"}  # no POST, no PATCH, and no PUT (the streamed upload)
    assert RETRY_STATUSES == {429, 500, 502, 503, 504}
    assert client.session.retry == RetryPolicy(retries=5, backoff=0.5, backoff_max=30.0, jitter=0.25,
                                               max_retry_after=60.0)
    assert client.session.http.get_adapter(client.base_url).max_retries.total == 0  # urllib3 never retries


def test_get_retried_after_429_with_retry_after_and_503(fake: Fake) -> None:
    fake.control.add_fault("status", method="GET", path="/api/v2/users/me/", status=429, retryAfter=1, times=1)
    fake.control.add_fault("status", method="GET", path="/api/v2/users/me/", status=503, times=1)
    waits: list[float] = []
    with RescaleClient(fake.base_url, fake.api_key, sleep=waits.append) as client:
        assert client.users.get_current_user()["id"]
    assert [c["status"] for c in calls(fake, "GET", "/api/v2/users/me/")] == [429, 503, 200]
    assert waits[0] == 1.0  # Retry-After was honoured
    assert 0.5 * 2 * 0.75 <= waits[1] <= 0.5 * 2  # the second failure: backoff doubled, jittered down


def test_get_gives_up_with_the_last_error(fake: Fake) -> None:
    fake.control.add_fault("status", method="GET", path="/api/v2/coretypes/", status=503)
    waits: list[float] = []
    with RescaleClient(fake.base_url, fake.api_key, retries=RetryPolicy(retries=2), sleep=waits.append) as client, \
            pytest.raises(ServiceUnavailable):
        client.catalog.list_core_types()
    assert len(calls(fake, "GET", "/api/v2/coretypes/")) == 3 and len(waits) == 2


def test_429_surfaces_with_its_retry_after_when_retries_are_off(fake: Fake) -> None:
    fake.control.add_fault("status", method="GET", path="/api/v2/users/me/", status=429, retryAfter=3600, times=1)
    with RescaleClient(fake.base_url, fake.api_key, retries=0) as client, pytest.raises(TooManyRequests) as caught:
        client.users.get_current_user()
    assert caught.value.retry_after == 3600


def test_dropped_connection_on_a_get_is_retried(fake: Fake) -> None:
    fake.control.add_fault("drop", method="GET", path="/api/v2/users/me/", afterBytes=5, times=1)
    waits: list[float] = []
    with RescaleClient(fake.base_url, fake.api_key, sleep=waits.append) as client:
        assert client.users.get_current_user()["id"]
    assert len(waits) == 1 and len(calls(fake, "GET", "/api/v2/users/me/")) == 2


def test_dropped_connection_on_a_get_raises_transport_error_when_retries_are_off(fake: Fake) -> None:
    fake.control.add_fault("drop", method="GET", path="/api/v2/users/me/", afterBytes=5, times=1)
    with RescaleClient(fake.base_url, fake.api_key, retries=0) as client:
        with pytest.raises(TransportError) as caught:
            client.users.get_current_user()
        assert caught.value.method == "GET" and fake.api_key not in str(caught.value)
        assert client.users.get_current_user()["id"]  # the session is still usable


# -- POST: never a blind retry -----------------------------------------------------------------------------------------
def test_503_on_create_job_raises_and_nothing_is_resent(fake: Fake, client: RescaleClient) -> None:
    fake.control.add_fault("status", method="POST", path="/api/v2/jobs/", status=503, times=1)
    with pytest.raises(ServiceUnavailable):
        client.jobs.create_job(body=JOB)
    assert [c["status"] for c in calls(fake, "POST", "/api/v2/jobs/")] == [503]
    assert fake.control.assert_called("createJob", times=1)[0]["fault"]  # the one request, answered by the fault
    assert client.jobs.iter_jobs().count == 0


def test_dropped_response_to_create_job_is_not_retried(fake: Fake, client: RescaleClient) -> None:
    """The job was created, the answer lost: the client raises and leaves exactly one job."""
    fake.control.add_fault("drop", method="POST", path="/api/v2/jobs/", afterBytes=5, times=1)
    with pytest.raises(TransportError):
        client.jobs.create_job(body=JOB)
    fake.control.assert_called("createJob", times=1)
    assert len(calls(fake, "POST", "/api/v2/jobs/")) == 1
    assert client.jobs.iter_jobs().count == 1


def test_429_with_retry_after_on_create_job_is_replayed_once(fake: Fake) -> None:
    """A 429 means the request was refused before anything was done, so its JSON body is sent again."""
    fake.control.add_fault("status", method="POST", path="/api/v2/jobs/", status=429, retryAfter=1, times=1)
    waits: list[float] = []
    with RescaleClient(fake.base_url, fake.api_key, sleep=waits.append) as client:
        job = client.jobs.create_job(body=JOB)
        assert [c["status"] for c in calls(fake, "POST", "/api/v2/jobs/")] == [429, 201]
        assert [c["fault"] is None for c in fake.control.assert_called("createJob", times=2)] == [True, False]
        assert [j["id"] for j in client.jobs.iter_jobs()] == [job["id"]]
    assert waits == [1.0]


def test_429_without_retry_after_on_a_post_raises(fake: Fake, client: RescaleClient) -> None:
    fake.control.add_fault("status", method="POST", path="/api/v2/jobs/", status=429, times=1)
    with pytest.raises(TooManyRequests) as caught:
        client.jobs.create_job(body=JOB)
    assert caught.value.retry_after is None
    assert len(calls(fake, "POST", "/api/v2/jobs/")) == 1


def test_submit_is_not_retried_either(fake: Fake, client: RescaleClient) -> None:
    job = client.jobs.create_job(body=JOB)
    fake.control.add_fault("status", method="POST", path="/api/v2/jobs/*/submit/", status=502, times=1)
    with pytest.raises(ServerError):
        client.jobs.submit_job(job_id=job["id"])
    assert len(calls(fake, "POST", "/api/v2/jobs/*/submit/")) == 1
    client.jobs.submit_job(job_id=job["id"])  # the caller decides: here, it submits again
    assert [c["status"] for c in fake.control.assert_called("submitJob", times=2)] == [200, 502]


def test_default_timeouts_are_set(client: RescaleClient) -> None:
    assert client.session.timeout == (3.05, 60.0)


def test_next_links_are_sent_to_the_configured_host(client: RescaleClient) -> None:
    base = client.base_url
    assert client.session.url(f"{base}/api/v2/jobs/?page=2") == f"{base}/api/v2/jobs/?page=2"
    assert client.session.url("https://elsewhere.example/api/v2/jobs/?page=2") == f"{base}/api/v2/jobs/?page=2"
