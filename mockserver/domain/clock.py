"""The fake's clock, one per tenant: status and dates are computed from it when read, never by a background thread.

Modes:
- ``scaled`` (default): the clock shows real time, and jobs and clusters live `factor` times faster than they
  would on Rescale (a default job completes in about a second); dates stay in the past, as clients expect.
- ``poll``: time stands still; each status read moves a job or cluster one step. That step is saved with the
  job (`pollStep`): the one write a read makes, by design, and only a status read makes it.
- ``manual``: time stands still; only the control plane's `advance` moves it.
The still modes start `HEADSTART` behind real time, so that a test may advance hours and still get dates that lie
in the past ("uploaded today" checks keep working). `advance(seconds)` works in every mode.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

MODES = ("scaled", "poll", "manual")
HEADSTART = 6 * 3600.0


@dataclass
class Clock:
    mode: str
    factor: float
    anchor_real: float
    anchor_fake: float

    @classmethod
    def fresh(cls, mode: str, factor: float, real: float) -> "Clock":
        return cls(mode, factor, real, real if mode == "scaled" else real - HEADSTART)

    def now(self, real: float) -> float:
        if self.mode == "scaled":
            return self.anchor_fake + (real - self.anchor_real)
        return self.anchor_fake

    @property
    def pace(self) -> float:
        """Seconds of a job's (or cluster's) life that pass per second of this clock."""
        return self.factor if self.mode == "scaled" else 1.0

    def advance(self, seconds: float, real: float) -> None:
        self.rebase(real)
        self.anchor_fake += seconds

    def set_mode(self, mode: str, factor: float | None, real: float) -> None:
        self.rebase(real)
        self.mode = mode
        if factor is not None:
            self.factor = factor

    def rebase(self, real: float) -> None:
        """Fix the current time as the new anchor, so a change of mode or factor never makes time jump."""
        self.anchor_fake, self.anchor_real = self.now(real), real

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "Clock":
        return cls(**{k: raw[k] for k in ("mode", "factor", "anchor_real", "anchor_fake")})


def read_time(clock: Clock, real: float, state: dict, steps: list[float], poll: bool) -> tuple[float, bool]:
    """The time a job or cluster is read at. In the `poll` mode that is its next step when the read is a status
    read (`poll`), else the step it reached; `state["pollStep"]` keeps its place. Returns (time, state changed)."""
    now = clock.now(real)
    if clock.mode != "poll" or not steps:
        return now, False
    if poll:
        state["pollStep"] = min(state.get("pollStep", 0) + 1, len(steps))
    step = min(max(state.get("pollStep", 0), 1), len(steps))
    return max(now, steps[step - 1]), poll
