"""Rescale's date strings: ISO-8601 with six fractional digits, but with `Z` in some places and `+00:00` in others.

The reference (§3.3) shows `dateInserted`, `dateUploaded` and cluster statuses ending in `Z`, and job statuses in
`+00:00`. `style` switches: "mixed" (that default), "z" or "offset" everywhere.
"""
from __future__ import annotations

from datetime import datetime, timezone

STYLES = ("mixed", "z", "offset")
_OFFSET_KINDS = {"job_status"}


def iso(ts: float, kind: str = "inserted", style: str = "mixed") -> str:
    text = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    use_offset = style == "offset" or (style == "mixed" and kind in _OFFSET_KINDS)
    return text + ("+00:00" if use_offset else "Z")
