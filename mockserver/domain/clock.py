"""The fake's clock, one per tenant: status and dates are computed from it when read, never by a background thread.

Modes:
- ``scaled``: fake time runs `factor` times faster than real time (the default, so a job finishes in seconds);
- ``poll``: fake time stands still; each status read moves a job one step (see jobs);
- ``manual``: fake time stands still; only the control plane's `advance` moves it.
`advance(seconds)` works in every mode.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

MODES = ("scaled", "poll", "manual")


@dataclass
class Clock:
    mode: str
    factor: float
    anchor_real: float
    anchor_fake: float

    def now(self, real: float) -> float:
        if self.mode == "scaled":
            return self.anchor_fake + (real - self.anchor_real) * self.factor
        return self.anchor_fake

    def advance(self, seconds: float, real: float) -> None:
        self.rebase(real)
        self.anchor_fake += seconds

    def set_mode(self, mode: str, factor: float | None, real: float) -> None:
        self.rebase(real)
        self.mode = mode
        if factor is not None:
            self.factor = factor

    def rebase(self, real: float) -> None:
        """Fix the current fake time as the new anchor, so a change of mode or factor never jumps time."""
        self.anchor_fake, self.anchor_real = self.now(real), real

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict) -> "Clock":
        return cls(**{k: raw[k] for k in ("mode", "factor", "anchor_real", "anchor_fake")})
