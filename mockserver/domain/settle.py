"""Settling a finished job — writing its outputs and recording its final status — once, whichever worker process
asks first. Reads never settle; the handlers that show outputs do (Jobs.settle).

Several processes may serve one store, so a lock in one process's memory cannot make the write happen once. The
job's state carries a claim instead: `outputsClaim = {by, at, until}`, taken in a store transaction (serialized across
processes). The claimer writes the blobs outside any transaction, renewing its lease as it goes, then records the
files and `outputsWritten` in one transaction that first checks the claim is still its own. Others wait, polling
the store with growing pauses, until the outputs are recorded, or take the claim over once its lease ran out (the
claimer died). A claimer that lost its claim (its lease ran out while it stalled, or the job was deleted) throws
its blobs away, so one set of files is listed whatever happens. A server that is the store's only one (it holds
the data dir's lock) knows any claim older than its own start is a dead process's, and takes it at once.
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterable, Iterator

LEASE_SECONDS = 10.0  # of real time: how long a silent claimer keeps the claim (it renews every quarter of this)
FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.25  # seconds between a waiter's looks at the store


class ClaimLost(Exception):
    """The claim ran out and another worker took it, or the job is gone: this writer's outputs are not wanted."""


def new_claimer() -> str:
    return uuid.uuid4().hex


def claim_holder(state: dict[str, Any], real_now: float, alone_since: float | None = None) -> str | None:
    """Who holds a live claim on the job's outputs, None when nobody does. `alone_since`: when this process started
    as the store's only server (it holds the data dir's lock); a claim taken or renewed before then is a dead
    process's, whatever its lease says (a restart after `kill -9` need not wait for it)."""
    claim = state.get("outputsClaim")
    if not claim or claim["until"] <= real_now:
        return None
    if alone_since is not None and claim.get("at", claim["until"] - LEASE_SECONDS) < alone_since:
        return None
    return claim["by"]


def take_claim(state: dict[str, Any], me: str, real_now: float) -> None:
    state["outputsClaim"] = {"by": me, "at": real_now, "until": real_now + LEASE_SECONDS}  # at: taken or renewed


def check_claim(state: dict[str, Any] | None, me: str) -> None:
    """Raises ClaimLost unless `me` still holds the claim (expired or not: nobody took it over)."""
    claim = (state or {}).get("outputsClaim")
    if not claim or claim["by"] != me:
        raise ClaimLost()


def pauses() -> Iterator[float]:
    """A waiter's pauses: short at first (a small output is written in milliseconds), then at most LONGEST_PAUSE."""
    pause = FIRST_PAUSE
    while True:
        yield pause
        pause = min(pause * 2, LONGEST_PAUSE)


def renewing(chunks: Iterable[bytes], renew: Callable[[], None]) -> Iterator[bytes]:
    """`chunks`, renewing the claim's lease every quarter lease while they are produced and written."""
    last = time.monotonic()
    for chunk in chunks:
        if time.monotonic() - last > LEASE_SECONDS / 4:
            renew()
            last = time.monotonic()
        yield chunk
