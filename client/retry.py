"""The client's one retry policy: which failures are tried again, how long to wait, and when to give up.

Every retry of the client asks `RetryPolicy.pause()`: the session's (every API call), the uploads' and the ranged
downloads' (application-level attempts that reopen the file or resume the range). The rules:
- A failure is retried only when resending is safe: an idempotent method (GET, HEAD, OPTIONS, DELETE), or a caller
  that made the resend safe (an upload looks for the file a failed attempt may have stored first; a range is read
  again from where it stopped). POST and PATCH are never resent blindly: a 503 or a dropped connection may come
  after the job was created. The one exception is a 429 with `Retry-After`: the server refused the request before
  doing anything, so a replayable body (JSON or none) is sent again. PUT is not idempotent here on purpose: the
  API's only PUT is a streamed upload whose body is consumed.
- What is retried: no response at all (connection refused, reset, dropped mid-body, timeout) and the statuses 429,
  500, 502, 503 and 504.
- How long: the server's `Retry-After` when it sent one (cut to `max_retry_after`), else `backoff` seconds doubling
  per failure up to `backoff_max`, shortened by a random fraction up to `jitter` so that clients failed together do
  not come back together.
- Bounded: `retries` retries after the first attempt (so `retries + 1` attempts), each wait at most
  `max(backoff_max, max_retry_after)`.
The policy only decides; the caller sleeps with the `sleep` it was given (tests pass one that records the waits).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import requests

from .errors import APIError, TransportError, retry_after_seconds

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRYABLE_ERRORS = (TransportError, requests.RequestException)  # no response, or its body cut short


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a failed request again; see the module's docstring."""

    retries: int = 5
    backoff: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def with_attempts(self, attempts: int) -> RetryPolicy:
        """The same policy allowing `attempts` attempts in all (a transfer's own `attempts=`)."""
        return replace(self, retries=max(0, attempts - 1))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `failures`-th failure in a row: the server's Retry-After if given, else the
        jittered exponential backoff."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after)
        full: float = min(self.backoff_max, self.backoff * 2.0 ** min(max(0, failures - 1), 60))
        return full * (1.0 - self.jitter * self.random())

    def retryable(self, error: BaseException, *, idempotent: bool, replayable: bool = True) -> bool:
        """Whether `error` is worth another attempt at all (whatever the count): see the module's docstring."""
        if isinstance(error, APIError):
            if error.status not in RETRY_STATUSES:
                return False
            refused_first = error.status == 429 and _retry_after(error) is not None  # nothing was done
            return idempotent or (refused_first and replayable)
        return idempotent and isinstance(error, RETRYABLE_ERRORS)

    def pause(self, error: BaseException, failures: int, *, idempotent: bool, replayable: bool = True) -> float | None:
        """After the `failures`-th failure in a row (`error`), the seconds to wait before the next attempt, or None
        when the error is final: not retryable, or the retries are spent."""
        if failures > self.retries or not self.retryable(error, idempotent=idempotent, replayable=replayable):
            return None
        return self.delay(failures, _retry_after(error))


def _retry_after(error: BaseException) -> float | None:
    if isinstance(error, APIError) and error.response is not None:
        return retry_after_seconds(error.response)
    return None


def as_policy(retries: RetryPolicy | int | None) -> RetryPolicy:
    """`None`: the default policy; an int: the default with that many retries (0 turns retries off)."""
    if retries is None:
        return RetryPolicy()
    if isinstance(retries, int):
        return RetryPolicy(retries=retries)
    return retries
