"""`rescale-mock replay DIR`: answers recorded exchanges with the recorded status, headers and exact body bytes.

A request is matched by method, path (with or without its trailing slash), query (in any order) and `Range`.
The same request asked again gets the next recording of it (a job's statuses as they changed), then the last one
again. A request never recorded gets a 404 that says so.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from werkzeug.http import HTTP_STATUS_CODES

from .recording import body_bytes, read_recordings

SKIPPED_HEADERS = {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}
Key = tuple[str, str, tuple[tuple[str, str], ...], str]


def _key(method: str, path: str, query: str, range_header: str | None) -> Key:
    return (method.upper(), path.rstrip("/"), tuple(sorted(parse_qsl(query, keep_blank_values=True))),
            (range_header or "").strip())


class ReplayApp:
    def __init__(self, directory: Path) -> None:
        self.answers: dict[Key, list[dict[str, Any]]] = {}
        for exchange in read_recordings(directory):
            request = exchange["request"]
            headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
            key = _key(request["method"], request["path"], request.get("query", ""), headers.get("range"))
            self.answers.setdefault(key, []).append(exchange["response"])
        self._asked: Counter[Key] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = (environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")).split("?", 1)[0]
        key = _key(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), environ.get("HTTP_RANGE"))
        answers = self.answers.get(key)
        if not answers:
            body = json.dumps({"detail": f"rescale-mock replay: nothing recorded for {key[0]} {path}"}).encode()
            start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                             ("X-Rescale-Mock-Replay", "miss")])
            return [body]
        with self._lock:
            index = min(self._asked[key], len(answers) - 1)
            self._asked[key] += 1
        response = answers[index]
        recorded = body_bytes(response)
        headers = [(k, v) for k, v in response.get("headers", {}).items() if k.lower() not in SKIPPED_HEADERS]
        if recorded is None:  # recorded without its body (too large): say so rather than send wrong bytes
            headers.append(("X-Rescale-Mock-Replay", "body-omitted"))
        body = recorded or b""
        status = int(response["status"])
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       headers + [("Content-Length", str(len(body)))])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
