"""What the tests of real runs (`--execute`) share: waits that move the tenant's manual clock and give the runner's
supervisor thread a moment of real time, and a look at the machine's processes."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from rescale_mock.testing import Control

POLL_PAUSE = 0.02  # real seconds per poll: the supervisor thread gets the CPU


def ticking_sleep(control: Control) -> Callable[[float], None]:
    """A client's `sleep`: the fake seconds it asks for pass on the clock, and a short real pause."""
    def tick(seconds: float) -> None:
        control.advance(seconds)
        time.sleep(POLL_PAUSE)

    return tick


def processes_with(marker: str) -> list[int]:
    """Process ids whose command line holds `marker` (a real run's leftovers, found through /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
