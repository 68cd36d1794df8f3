"""JSON and empty responses, rendered as DRF renders them (compact JSON)."""
from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response
from werkzeug.http import HTTP_STATUS_CODES

from .errors import ApiError

JSON = "application/json"


def status_line(status: int) -> str:
    """`401 Unauthorized` as Django writes it (werkzeug alone would send `401 UNAUTHORIZED`)."""
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate from somewhere: U+FFFD in its place, never a failed response
        data = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    return Response(data, status=status_line(status), headers=headers, content_type=JSON)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(b"", status=status_line(status), headers=headers)
    del response.headers["Content-Type"]
    return response


def error_response(err: ApiError) -> Response:
    return json_response(err.status, err.body, err.headers)
