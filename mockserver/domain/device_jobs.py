"""A job attached to a storage device waits, `Pending`, until the device is Started; then it lives as any job
does from that moment. A device that will not be Started (it failed, or stopped first) ends the job."""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

from .lifecycle import EPSILON, STOP_GRACE, USER_STOP_REASON, Event, Plan

DEVICE_GONE_REASON = "The storage device is not available"


def plan_with_device(submitted: float, ready: float | None, gone: float | None, stop_at: float | None,
                     build: Callable[[float], Plan]) -> Plan:
    """`build(start)` plans the job as if submitted at `start`; `ready`/`gone`: when the device is Started and
    when it stops (None: not known yet); `stop_at`: when the user stopped the job (tenant clock)."""
    start = None if ready is None or (gone is not None and gone <= ready) else max(submitted, ready)
    waiting_until = start if start is not None else (gone if gone is not None else math.inf)
    if stop_at is not None and stop_at < waiting_until:  # stopped while waiting for the device
        return _ended(submitted, max(stop_at, submitted + EPSILON), USER_STOP_REASON, stopped_by_user=True)
    if start is None:
        if gone is None:
            return Plan((Event(submitted, "Pending"),), (Event(submitted, "Not Started"),), None, 0.0, None,
                        math.inf, "waiting")
        return _ended(submitted, max(gone, submitted + EPSILON), DEVICE_GONE_REASON)
    life = build(start)
    if start == submitted:
        return life
    job = (Event(submitted, "Pending"), *life.job[1:])
    cluster = (Event(submitted, "Not Started"), *life.cluster[1:])
    return dataclasses.replace(life, job=job, cluster=cluster)


def _ended(submitted: float, at: float, reason: str, stopped_by_user: bool = False) -> Plan:
    finished = at + STOP_GRACE
    job = (Event(submitted, "Pending"), Event(at, "Stopping", reason), Event(finished, "Completed", reason))
    cluster = (Event(submitted, "Not Started"), Event(finished + EPSILON, "Stopped"))
    return Plan(job, cluster, None, 0.0, None, finished, "stopped", stopped_by_user=stopped_by_user)
