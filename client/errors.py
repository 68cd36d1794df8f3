"""Exceptions: one base, `RescaleError`, and a small hierarchy of API errors keyed by HTTP status.

    RescaleError
    ├── ConfigError                  no base URL or key found
    ├── TransportError               the connection failed, dropped or timed out (no usable response)
    ├── APIError                     an error status: .status, .body, .detail, .method, .url, .request, .response
    │   ├── BadRequest (400)         .field_errors: {"jobanalyses[0].hardware.coresPerSlot": ["..."]}
    │   ├── Unauthorized (401)  Forbidden (403)  NotFound (404)  Conflict (409)
    │   ├── TooManyRequests (429)    .retry_after (seconds or None)
    │   └── ServerError (5xx)
    │       └── ServiceUnavailable (503)
    ├── TransferError                an upload or download gave up
    │   └── ChecksumMismatch         the downloaded bytes do not match fileChecksums
    └── WaiterError
        ├── WaiterTimeout            the awaited status did not come in time
        └── WaitFailed               the job or cluster ended in failure (.result says how)
The API key is never part of a message: only the method and URL of the request are shown.
"""
from __future__ import annotations

import email.utils
import time
from typing import Any

import requests


class RescaleError(Exception):
    """Base of every exception raised by the client."""


class ConfigError(RescaleError):
    """No usable base URL or API key (arguments, environment, apiconfig file)."""


class TransportError(RescaleError):
    """The request got no usable response: connection refused, dropped or timed out."""

    def __init__(self, message: str, *, method: str = "", url: str = "",
                 request: requests.PreparedRequest | None = None) -> None:
        super().__init__(message)
        self.method, self.url, self.request = method, url, request


class APIError(RescaleError):
    """An HTTP error status from the API, with the parsed body (JSON, else text) and the request."""

    status: int = 0

    def __init__(self, response: requests.Response, body: Any = None) -> None:
        self.response = response
        self.status = response.status_code
        self.body = body if body is not None else parse_body(response)
        self.request: requests.PreparedRequest | None = response.request
        self.method = (response.request.method or "") if response.request is not None else ""
        self.url = response.url
        self.detail: str | None = self.body.get("detail") if isinstance(self.body, dict) and isinstance(
            self.body.get("detail"), str) else None
        super().__init__(self._message())

    def _message(self) -> str:
        what = self.detail or (self.body if isinstance(self.body, str) else None) or self.response.reason or ""
        return f"{self.status} {self.method} {self.url}: {str(what)[:500]}".rstrip(": ")


class BadRequest(APIError):
    """400: invalid input. `field_errors` flattens DRF's nested field errors to dotted paths."""

    def __init__(self, response: requests.Response, body: Any = None) -> None:
        body = body if body is not None else parse_body(response)
        self.field_errors: dict[str, list[str]] = (
            flatten_field_errors({k: v for k, v in body.items() if k != "detail"}) if isinstance(body, dict) else {})
        super().__init__(response, body)

    def _message(self) -> str:
        if not self.field_errors:
            return super()._message()
        fields = "; ".join(f"{path}: {' '.join(messages)}" for path, messages in self.field_errors.items())
        return f"{self.status} {self.method} {self.url}: {fields[:1000]}"


class Unauthorized(APIError):
    """401: missing or invalid API key."""


class Forbidden(APIError):
    """403: the key may not do this."""


class NotFound(APIError):
    """404: no such resource (or a page past the end)."""


class Conflict(APIError):
    """409: the request conflicts with the resource's state."""


class TooManyRequests(APIError):
    """429: throttled; `retry_after` is the server's `Retry-After` in seconds, if it sent one."""

    def __init__(self, response: requests.Response, body: Any = None) -> None:
        self.retry_after = retry_after_seconds(response)
        super().__init__(response, body)


class ServerError(APIError):
    """5xx: the server failed."""


class ServiceUnavailable(ServerError):
    """503: the server is overloaded or down for maintenance."""


class TransferError(RescaleError):
    """An upload or download failed after its retries."""


class ChecksumMismatch(TransferError):
    """The downloaded file's sha512 differs from the file's `fileChecksums`."""


class WaiterError(RescaleError):
    """Base of the waiters' errors."""


class WaiterTimeout(WaiterError):
    """The awaited status was not reached within the timeout; `last` is the newest status seen (or None)."""

    def __init__(self, message: str, last: Any = None) -> None:
        super().__init__(message)
        self.last = last


class WaitFailed(WaiterError):
    """The job or cluster reached a failure end; `result` tells the final status and reason."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 429: TooManyRequests,
    503: ServiceUnavailable,
}


def error_for(response: requests.Response) -> APIError:
    """The exception for an error response (status >= 400)."""
    cls = BY_STATUS.get(response.status_code)
    if cls is None:
        cls = ServerError if response.status_code >= 500 else APIError
    return cls(response)


def parse_body(response: requests.Response) -> Any:
    """JSON when the body is JSON, else the text (possibly empty)."""
    try:
        text = response.text
    except (requests.RequestException, RuntimeError):
        return None
    if "json" in response.headers.get("Content-Type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return text


def flatten_field_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """`{"jobanalyses": [{}, {"hardware": {"coresPerSlot": ["bad"]}}]}` -> `{"jobanalyses[1].hardware.coresPerSlot":
    ["bad"]}`; DRF nests field errors per object field and per list item (`{}` for items without errors)."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            flat.update(flatten_field_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(errors, list) and all(isinstance(item, str) for item in errors):
        if errors:
            flat[prefix or "non_field_errors"] = list(errors)
    elif isinstance(errors, list):
        for index, item in enumerate(errors):
            flat.update(flatten_field_errors(item, f"{prefix}[{index}]"))
    elif errors is not None:
        flat[prefix or "non_field_errors"] = [str(errors)]
    return flat


def retry_after_seconds(response: requests.Response) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110); None when absent or unparsable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
