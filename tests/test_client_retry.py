"""The client's one retry policy (`rescale_client.retry.RetryPolicy`), on its own: which failures are retried for
which methods, how long it waits (jitter, Retry-After, bounds) and when it gives up. No test sleeps: the policy only
computes waits, and its randomness is injected."""
from __future__ import annotations

import pytest
import requests
from rescale_client.errors import TransportError, error_for
from rescale_client.retry import RetryPolicy, as_policy


def status_error(status: int, retry_after: str | None = None) -> Exception:
    response = requests.Response()
    response.status_code = status
    response._content = b'{"detail": "x"}'
    response.headers["Content-Type"] = "application/json"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    response.request = requests.Request("GET", "http://fake.test/api/v2/").prepare()
    response.url = "http://fake.test/api/v2/"
    return error_for(response)


DROPPED = TransportError("GET http://fake.test/: ConnectionError", method="GET")
NO_JITTER = RetryPolicy(jitter=0.0)


def test_backoff_doubles_and_is_capped() -> None:
    assert [NO_JITTER.delay(n) for n in range(1, 9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert NO_JITTER.delay(10_000) == 30.0


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_jitter_shortens_each_wait_by_up_to_its_fraction(draw: float) -> None:
    policy = RetryPolicy(jitter=0.25, random=lambda: draw)
    assert policy.delay(3) == pytest.approx(2.0 * (1 - 0.25 * draw))
    assert 1.5 < policy.delay(3) <= 2.0


def test_jitter_spreads_clients_that_failed_together() -> None:
    waits = {RetryPolicy().delay(4) for _ in range(50)}  # the real random source
    assert len(waits) > 40 and all(3.0 <= wait <= 4.0 for wait in waits)


def test_retry_after_is_honoured_without_jitter_and_bounded() -> None:
    policy = RetryPolicy(max_retry_after=60.0, random=lambda: 0.9)
    assert policy.pause(status_error(429, "7"), 1, idempotent=True) == 7.0
    assert policy.pause(status_error(503, "2"), 3, idempotent=True) == 2.0  # not the backoff of the 3rd failure
    assert policy.pause(status_error(429, "3600"), 1, idempotent=True) == 60.0
    assert policy.pause(status_error(429, "Wed, 21 Oct 2015 07:28:00 GMT"), 1, idempotent=True) == 0.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_calls_retry_the_retryable_statuses(status: int) -> None:
    assert NO_JITTER.pause(status_error(status), 1, idempotent=True) == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 501])
def test_other_statuses_are_final(status: int) -> None:
    assert NO_JITTER.pause(status_error(status), 1, idempotent=True) is None


def test_dropped_connections_are_retried_for_idempotent_calls_only() -> None:
    assert NO_JITTER.pause(DROPPED, 1, idempotent=True) == 0.5
    assert NO_JITTER.pause(requests.exceptions.ChunkedEncodingError("cut"), 2, idempotent=True) == 1.0
    assert NO_JITTER.pause(DROPPED, 1, idempotent=False) is None  # a POST may have created the job


def test_a_post_is_resent_only_after_a_429_with_retry_after_and_a_replayable_body() -> None:
    assert NO_JITTER.pause(status_error(429, "1"), 1, idempotent=False) == 1.0
    assert NO_JITTER.pause(status_error(429, "1"), 1, idempotent=False, replayable=False) is None  # streamed body
    assert NO_JITTER.pause(status_error(429), 1, idempotent=False) is None  # no Retry-After: not known to be safe
    for status in (500, 502, 503, 504):
        assert NO_JITTER.pause(status_error(status, "1"), 1, idempotent=False) is None


def test_gives_up_after_its_retries() -> None:
    policy = RetryPolicy(retries=2, jitter=0.0)
    assert [policy.pause(DROPPED, n, idempotent=True) for n in (1, 2, 3)] == [0.5, 1.0, None]
    assert RetryPolicy(retries=0).pause(DROPPED, 1, idempotent=True) is None


def test_a_transfer_sets_its_own_attempts() -> None:
    assert RetryPolicy(retries=5).with_attempts(3).retries == 2
    assert RetryPolicy().with_attempts(0).retries == 0


def test_non_http_errors_are_never_retried() -> None:
    assert NO_JITTER.pause(ValueError("a bug"), 1, idempotent=True) is None


def test_as_policy() -> None:
    assert as_policy(None) == RetryPolicy()
    assert as_policy(0).retries == 0 and as_policy(3).retries == 3
    custom = RetryPolicy(backoff=0.1)
    assert as_policy(custom) is custom
