"""Waiters: poll a job's, a cluster's or a storage device's status history until a status is reached (or a job's
runs until enough have completed), like boto3's waiters. One polling loop (`poll`) serves them all: what differs is
only what is fetched and how it is judged.

Statuses come newest first (`results[0]` is the current one). A waiter reads the whole history on every poll, so
a status that came and went between two polls still counts as reached, and `on_status` is called once for every
new status, oldest first. Time: `sleep(delay)` between polls (inject one that moves a fake clock in tests) and
`WaiterTimeout` once `timeout` seconds have passed (the real time or the sum of the sleeps, whichever is larger).

Ends of a job (reference: rescale-api-surface §3):
- success: `Completed` with the reason "Completed successfully";
- failure: `Completed` with any other reason or none ("Could not allocate compute resources from the compute
  provider", "Exceeded max number of restarts", "A run failed", "User Terminated", a non-zero exit...), and
  `Force Stop`.
Ends of a cluster (and of a storage device, which lives as a persistent cluster does): waiting for `Started`,
reaching `Stop Requested`, `Stopping`, `Stopped` or `Error` without having started is a failure; `Error` is a
failure whatever the awaited status.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import WaiterTimeout, WaitFailed

JOB_TERMINAL = frozenset({"Completed", "Force Stop"})
JOB_SUCCESS_REASON = "Completed successfully"
JOB_FAILURE_REASONS = (
    "Could not allocate compute resources from the compute provider",
    "Exceeded max number of restarts",
    "A run failed",
    "User Terminated",
)
CLUSTER_DOWN = frozenset({"Stop Requested", "Stopping", "Stopped"})
CLUSTER_ERROR = "Error"

Status = Mapping[str, Any]
State = TypeVar("State")
Sleep = Callable[[float], None]


def poll(check: Callable[[], tuple[bool, State]], *, still: Callable[[State, float], str], delay: float,
         timeout: float | None, sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic) -> State:
    """The one polling loop: `check()` gives (done, state) and raises `WaitFailed` itself for a failure end; between
    checks it sleeps `delay` (cut to what is left of `timeout`); after `timeout` seconds (real time or the sum of the
    sleeps, whichever is larger: a fake clock moved by `sleep` counts) it raises `WaiterTimeout` with the last state
    and `still(state, elapsed)` as the message."""
    started, slept = clock(), 0.0
    while True:
        done, state = check()
        if done:
            return state
        elapsed = max(clock() - started, slept)
        if timeout is not None and elapsed >= timeout:
            raise WaiterTimeout(still(state, elapsed), state)
        pause = delay if timeout is None else min(delay, timeout - elapsed)
        sleep(pause)
        slept += pause


@dataclass(frozen=True)
class WaitResult:
    """How a wait ended: the current status and reason, whether that is a success, and the history seen
    (oldest first)."""

    status: str
    reason: str | None
    succeeded: bool
    history: list[Status] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        return [str(s.get("status")) for s in self.history]


Verdict = Callable[[list[Status]], "bool | None"]  # oldest-first history -> True success, False failure, None wait


def job_verdict(until: str | None) -> Verdict:
    """Success/failure/wait for a job awaited until `until` (None: until it ends)."""

    def verdict(history: list[Status]) -> bool | None:
        seen = [s.get("status") for s in history]
        current = history[-1] if history else {}
        if until is not None and until not in JOB_TERMINAL and until in seen:
            return True
        if current.get("status") in JOB_TERMINAL:
            if until is not None and until != "Completed":
                return current.get("status") == until  # ended without reaching a status before the end
            return current.get("status") == "Completed" and current.get("statusReason") == JOB_SUCCESS_REASON
        return None

    return verdict


def cluster_verdict(until: str) -> Verdict:
    def verdict(history: list[Status]) -> bool | None:
        seen = [s.get("status") for s in history]
        current = history[-1].get("status") if history else None
        if current == CLUSTER_ERROR and until != CLUSTER_ERROR:
            return False
        if until in seen:
            return True
        if until not in CLUSTER_DOWN and current in CLUSTER_DOWN:
            return False
        return None

    return verdict


def wait(fetch: Callable[[], Iterable[Status]], verdict: Verdict, *, what: str, delay: float = 10.0,
         timeout: float | None = 3600.0, on_status: Callable[[Status], None] | None = None,
         sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic,
         raise_on_failure: bool = True) -> WaitResult:
    """Wait on a status history: `fetch()` gives it newest first; `verdict` decides."""
    reported = 0

    def check() -> tuple[bool, WaitResult | Status | None]:
        nonlocal reported
        history = list(reversed(list(fetch())))
        if on_status is not None:
            for status in history[reported:]:
                on_status(status)
        reported = max(reported, len(history))
        outcome = verdict(history)
        if outcome is None:
            return False, history[-1] if history else None
        current = history[-1] if history else {}
        result = WaitResult(str(current.get("status")), current.get("statusReason"), outcome, history)
        if not outcome and raise_on_failure:
            reason = f" ({result.reason})" if result.reason else ""
            raise WaitFailed(f"{what} ended {result.status}{reason}: {' > '.join(result.statuses)}", result)
        return True, result

    def still(last: Any, elapsed: float) -> str:
        return f"{what}: still {last.get('status') if last else 'no status yet'} after {elapsed:.0f} s"

    result = poll(check, still=still, delay=delay, timeout=timeout, sleep=sleep, clock=clock)
    assert isinstance(result, WaitResult)
    return result


@dataclass(frozen=True)
class RunProgress:
    """A job's runs as Rescale's DOE example counts them: started once `dateStarted` is set, completed once
    `dateCompleted` is set too, running in between; `expected` is the listing's `count` (every run of a sweep is
    listed once the job executes, those not started with `dateStarted: null`)."""

    expected: int
    started: int
    completed: int

    @property
    def running(self) -> int:
        return self.started - self.completed

    @property
    def pending(self) -> int:
        return self.expected - self.completed

    @classmethod
    def of(cls, expected: int, runs: Iterable[Mapping[str, Any]]) -> "RunProgress":
        started = completed = 0
        for run in runs:
            if run.get("dateStarted") is not None:
                started += 1
                completed += run.get("dateCompleted") is not None
        return cls(expected, started, completed)


def wait_for_runs(fetch: Callable[[], tuple[RunProgress, bool]], completed: int, *, what: str, delay: float = 30.0,
                  timeout: float | None = 3600.0, on_progress: Callable[[RunProgress], None] | None = None,
                  sleep: Sleep = time.sleep, clock: Callable[[], float] = time.monotonic) -> RunProgress:
    """Poll until at least `completed` runs have completed. `fetch()` gives the progress and whether the job has
    ended; a job that ended short of the target raises `WaitFailed` (its `result` is the last progress)."""

    def check() -> tuple[bool, RunProgress]:
        progress, ended = fetch()
        if on_progress is not None:
            on_progress(progress)
        if progress.completed >= completed:
            return True, progress
        if ended or (progress.expected and completed > progress.expected):
            raise WaitFailed(f"{what}: {progress.completed} of {progress.expected} runs completed, "
                             f"{completed} awaited, and no more will", progress)
        return False, progress

    def still(progress: RunProgress, elapsed: float) -> str:
        return f"{what}: {progress.completed} of {completed} runs completed after {elapsed:.0f} s"

    return poll(check, still=still, delay=delay, timeout=timeout, sleep=sleep, clock=clock)
