"""WSGI layer around the app: injects faults into `/api/...` requests and writes the journal.

The journal entry is written when the response starts (its duration is time-to-headers), so the response itself is
returned unwrapped and the server keeps its fast path for file bodies; only a `drop` fault wraps the body.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from ..dispatch import OPERATION_KEY, TENANT_KEY
from ..spec import rescale_spec
from .faults import Fault, JournalEntry

if TYPE_CHECKING:
    from ..backend import Backend

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
    def __init__(self, app: Callable[..., Iterable[bytes]], backend: "Backend") -> None:
        self.app = app
        self.backend = backend

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/api"):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        started = time.perf_counter()
        faults = self.backend.faults
        armed = faults.armed()  # look the tenant up only when some rule could fire
        tenant = self._tenant(environ) if armed else None
        fault = faults.fire(method, path, tenant) if armed else None
        entry = JournalEntry(
            id=self.backend.journal.next_id(), time=datetime.now(timezone.utc).isoformat(), method=method,
            path=path, query=environ.get("QUERY_STRING", ""), status=None, duration_ms=0.0, operation_id=None,
            tenant=None, fault=fault.id if fault else None,
        )

        def recording_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            entry.status = int(status.split(" ", 1)[0])
            entry.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            entry.operation_id = environ.get(OPERATION_KEY) or self._operation(environ)
            entry.tenant = environ.get(TENANT_KEY, tenant)
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
        body = self.app(environ, recording_start)
        if fault is not None and fault.action == "drop":
            return _cut(body, fault.after_bytes)
        return body

    def _operation(self, environ: dict[str, Any]) -> str | None:
        """The operation a request was meant for, when a fault answered before the app could route it."""
        try:
            return rescale_spec().url_map.bind_to_environ(environ).match()[0]
        except HTTPException:
            return None

    def _tenant(self, environ: dict[str, Any]) -> str | None:
        words = environ.get("HTTP_AUTHORIZATION", "").split()
        if len(words) == 2 and words[0].lower() == "token":
            tenant = self.backend.tenants.by_key(words[1])
            return tenant.id if tenant else None
        return None
