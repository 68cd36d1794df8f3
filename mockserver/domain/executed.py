"""The life of a job whose command really runs (`rescale-mock serve --execute`), as a pure function of the
tenant's clock and the facts the run supervisor recorded (`store/runs.py`): no I/O, and reading never writes.

Before the process: Pending > Waiting for Queue > Queued pass on the clock as in the simulation. The job stays
Queued until the supervisor gives it a slot and starts the process (`startedAt`); then Started > Validated >
Executing, Executing for as long as the process runs, and Completed when it has exited (`endedAt`). A stop or
the walltime shows Stopping from the moment it was asked for. All times here are the tenant's clock times.
"""
from __future__ import annotations

import math
from typing import Any

from .lifecycle import (CLUSTER_STOP_DELAY, CLUSTER_STOP_TIME, CLUSTER_STOPPED_REASON, EPSILON, QUEUED, STOP_GRACE,
                        SUCCESS_REASON, USER_STOP_REASON, WAITING_FOR_QUEUE, Event, Plan)

LOST_REASON = "A run failed: the rescale-mock server restarted while the command ran, and its process was lost"


def executed_plan(submitted: float, pace: float, facts: dict[str, Any], stop_at: float | None,
                  persistent: bool = False, cluster_stop: float | None = None) -> Plan:
    """`pace`: how much faster than the clock the pre-run statuses pass (the scaled clock's factor).
    `persistent`: the job runs on a persistent cluster (whose statuses are its own), `cluster_stop` when that
    cluster is asked to stop."""
    t = submitted
    if persistent:
        head = [Event(t, "Pending"), Event(t + WAITING_FOR_QUEUE / pace, "Waiting for Cluster")]
        cluster: list[Event] | None = None
    else:
        head = [Event(t, "Pending"), Event(t + WAITING_FOR_QUEUE / pace, "Waiting for Queue"),
                Event(t + QUEUED / pace, "Queued")]
        cluster = [Event(t, "Not Started"), Event(t + QUEUED / pace, "Starting")]
    started = facts.get("startedAt")
    if started is None and facts.get("lost"):  # given up before it could start (see runner/supervisor.py)
        return _never_ran(head, cluster, pace, facts["endedAt"], None, facts["lost"])
    if started is None:
        return _never_ran(head, cluster, pace, stop_at, cluster_stop)
    s = max(started, head[-1].at + EPSILON)
    head += [Event(s, "Started"), Event(s + EPSILON, "Validated"), Event(s + 2 * EPSILON, "Executing")]
    if cluster is not None:
        cluster.append(Event(s, "Started"))
    run_start = s + 2 * EPSILON
    stop_reason, stopping = None, None
    if stop_at is not None:
        stop_reason, stopping = USER_STOP_REASON, stop_at
    elif facts.get("killAt") is not None:
        stop_reason, stopping = facts.get("killReason"), facts["killAt"]
    ended = facts.get("endedAt")
    if facts.get("lost"):
        stop_reason, stopping = facts["lost"], ended
    if stopping is not None and (ended is None or stopping <= ended):
        head.append(Event(max(stopping, head[-1].at + EPSILON), "Stopping", stop_reason))
    if ended is None:
        return Plan(tuple(head), tuple(cluster or ()), run_start, math.inf, None, math.inf, "running")
    exit_code = facts.get("exitCode")
    if stop_reason is None:
        stop_reason = SUCCESS_REASON if exit_code == 0 else None  # a non-zero exit still ends Completed (Rescale)
    finished = max(ended, head[-1].at + EPSILON)
    outcome = "succeed" if exit_code == 0 and stopping is None else "stopped" if stopping is not None else "fail"
    return _end(head, cluster, pace, finished, stop_reason, run_start, ended, exit_code, outcome,
                stop_at is not None and not facts.get("lost"))


def _never_ran(head: list[Event], cluster: list[Event] | None, pace: float, stop_at: float | None,
               cluster_stop: float | None, stop_reason: str = USER_STOP_REASON) -> Plan:
    """Waiting for a slot (or for its cluster) until stopped."""
    ends = [(at, reason) for at, reason in ((stop_at, stop_reason), (cluster_stop, CLUSTER_STOPPED_REASON))
            if at is not None]
    if not ends:
        return Plan(tuple(head), tuple(cluster or ()), None, 0.0, None, math.inf, "waiting")
    at, reason = min(ends, key=lambda pair: pair[0])
    seen = [e for e in head if e.at <= at] or head[:1]
    at = max(at, seen[-1].at + EPSILON)
    seen.append(Event(at, "Stopping", reason))
    kept = None if cluster is None else [e for e in cluster if e.at <= at]
    return _end(seen, kept, pace, at + STOP_GRACE / pace, reason, None, 0.0, None, "stopped",
                reason == USER_STOP_REASON)


def _end(head: list[Event], cluster: list[Event] | None, pace: float, finished: float, reason: str | None,
         run_start: float | None, run_end: float, exit_code: int | None, outcome: str, by_user: bool) -> Plan:
    job = (*head, Event(finished, "Completed", reason))
    if cluster is None:
        return Plan(job, (), run_start, run_end, exit_code, finished, outcome, by_user)
    stop = finished + CLUSTER_STOP_DELAY / pace
    if cluster[-1].status == "Not Started":
        tail = [Event(stop, "Stopped")]
    else:
        tail = [Event(stop, "Stopping"), Event(stop + CLUSTER_STOP_TIME / pace, "Stopped")]
    return Plan(job, (*cluster, *tail), run_start, run_end, exit_code, finished, outcome, by_user)
