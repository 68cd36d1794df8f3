"""Fault injection and the request journal for `/api/...`, one step of the API's WSGI pipeline (app.py), after the
dispatcher has routed and authenticated the request (`Admission`) and before the handler runs: rules match the
method, the path glob and the tenant found there, and the journal records the operation and tenant found there.

The journal entry is written when the response starts (its duration is time-to-headers), so the response itself is
returned unwrapped and the server keeps its fast path for file bodies; only a `drop` fault wraps the body.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from werkzeug.http import HTTP_STATUS_CODES

from .faults import Fault, JournalEntry

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from ..backend import Backend
    from ..dispatch import Admission


class FaultInjected(ConnectionAbortedError):
    """Raised inside a response body to make the server cut the connection."""


def _throttle_text(fault: Fault) -> str:
    if fault.status == 429:
        wait = fault.retry_after
        return "Request was throttled." + (f" Expected available in {wait} second{'s' * (wait != 1)}." if wait else "")
    if fault.status == 503:
        return "Service temporarily unavailable, try again later."
    return HTTP_STATUS_CODES.get(fault.status, "Error") + "."


def _cut(body: Iterable[bytes], limit: int) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in body:
            room = limit - sent
            if room <= 0:
                break
            yield chunk[:room]
            sent += min(len(chunk), room)
    finally:
        close = getattr(body, "close", None)
        if close:
            close()
    raise FaultInjected(f"connection dropped by a fault rule after {sent} bytes")


class FaultsAndJournal:
    def __init__(self, backend: "Backend") -> None:
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any], admission: "Admission",
                 respond: Callable[[], "Response"], started: float) -> Iterable[bytes]:
        """Answer one admitted request: a fault's status, or `respond()` (delayed or cut by a fault), journaled."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "")
        faults = self.backend.faults
        tenant = admission.tenant_id
        fault = faults.fire(method, path, tenant) if faults.armed() else None
        entry = JournalEntry(
            id=0, time=datetime.now(timezone.utc).isoformat(), method=method,
            path=path, query=environ.get("QUERY_STRING", ""), status=None, duration_ms=0.0,
            operation_id=admission.op.id if admission.op else None, tenant=tenant, fault=fault.id if fault else None,
        )

        def recording_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            entry.status = int(status.split(" ", 1)[0])
            entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.backend.journal.add(entry)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        if fault is not None and fault.action == "status":
            body = json.dumps({"detail": _throttle_text(fault)}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if fault.retry_after is not None:
                headers.append(("Retry-After", str(fault.retry_after)))
            recording_start(f"{fault.status} {HTTP_STATUS_CODES.get(fault.status, 'Error')}", headers)
            return [body]
        if fault is not None and fault.action == "latency":
            time.sleep(fault.latency_ms / 1000)
        body = respond()(environ, recording_start)
        if fault is not None and fault.action == "drop":
            return _cut(body, fault.after_bytes)
        return body
