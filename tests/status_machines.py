"""Which status a job and a cluster may move to next (None: the first), as the README and the reference tell them;
shared by the lifecycle's property tests and the client-against-model state machine."""
from __future__ import annotations

import math

JOB_NEXT = {
    None: {"Pending"},
    "Pending": {"Waiting for Queue", "Waiting for Cluster", "Started", "Stopping"},
    "Waiting for Queue": {"Queued", "Stopping"},
    "Waiting for Cluster": {"Started", "Stopping"},
    "Queued": {"Started", "Completed", "Stopping"},
    "Started": {"Validated", "Stopping"},
    "Validated": {"Executing", "Stopping"},
    "Executing": {"Completed", "Stopping", "Force Stop"},
    "Stopping": {"Completed"},
}
CLUSTER_NEXT = {
    None: {"Not Started"},
    "Not Started": {"Starting", "Stopped", "Pending"},
    "Pending": {"Queued", "Stop Requested"},
    "Queued": {"Starting", "Stop Requested"},
    "Starting": {"Started", "Stopping", "Stop Requested"},
    "Started": {"Stopping", "Stop Requested"},
    "Stop Requested": {"Stopping"},
    "Stopping": {"Stopped"},
}


def assert_walk(events: tuple, allowed: dict) -> None:
    previous, last_at = None, -math.inf
    for event in events:
        assert event.status in allowed.get(previous, set()), (previous, event.status)
        assert event.at > last_at  # strictly increasing dates
        previous, last_at = event.status, event.at
