"""Which part of a file a `Range` header asks for, before werkzeug serves it.

werkzeug answers 416 to anything it cannot use; RFC 9110 asks a server to ignore a header it does not understand
(or several ranges it will not combine) and serve the whole file, and to serve the whole file for a suffix longer
than the file. `normalize` rewrites the header so werkzeug then does exactly that.
"""
from __future__ import annotations

import re

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


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
        length = int(last)
        if length == 0:
            return header  # unsatisfiable (416), as RFC 9110 says
        return f"bytes=-{length}" if length <= size else "bytes=0-"
    if last and int(last) < int(first):
        return None  # an invalid range-spec is ignored
    return header
