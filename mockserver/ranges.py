"""Which part of a file a `Range` header asks for, before werkzeug serves it.

werkzeug answers 416 to anything it cannot use; RFC 9110 asks a server to ignore a header it does not understand
(or several ranges it will not combine) and serve the whole file, and to serve the whole file for a suffix longer
than the file. `normalize` rewrites the header so werkzeug then does exactly that.
"""
from __future__ import annotations

import re

from werkzeug.http import parse_range_header

_SINGLE = re.compile(r"^\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*$", re.IGNORECASE)
CHUNK = 1 << 20  # bytes per read when a body is streamed from an object store
BEYOND = 10**18  # past any file; a position of more digits reads as this (Python cannot convert 4300 digits)


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else BEYOND


def normalize(header: str | None, size: int) -> str | None:
    """The Range header werkzeug should see: None to serve the whole file, else one well-formed byte range."""
    if not header:
        return None
    match = _SINGLE.match(header)
    if match is None:
        return None  # several ranges, another unit, or nonsense: the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes, all of them if N exceeds the size
        length = _position(last)
        if length == 0:
            return "bytes=-0"  # unsatisfiable (416), as RFC 9110 says
        return f"bytes=-{length}" if length <= size else "bytes=0-"
    start = _position(first)
    if not last:
        return f"bytes={start}-"  # a start past the end is unsatisfiable (416)
    end = _position(last)
    if end < start:
        return None  # an invalid range-spec is ignored
    return f"bytes={start}-{end}"  # an end past the file is clamped to it


def span(normalized: str | None, size: int) -> tuple[int, int] | None:
    """The bytes (start, stop) werkzeug will serve for a `normalize`d header: all of them without one, None when it
    will answer 416. (An If-Range that does not match makes it serve everything: readers take `span` as a hint.)"""
    if normalized is None:
        return (0, size)
    parsed = parse_range_header(normalized)
    return parsed.range_for_length(size) if parsed else None
