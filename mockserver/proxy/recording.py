"""Recordings: one anonymized JSON file per exchange, `DIR/exchanges/NNNNNN-<operationId>.json`:

    {"format": "rescale-mockkit-recording/1", "operationId": "listJobs" | null,
     "request":  {"method": "GET", "path": "/api/v2/jobs/", "query": "page=2",
                  "headers": {"Content-Type": ..., "Range": ...},          # never Authorization or cookies
                  "body": "<text>" | "bodyOmitted": {"size": N}},          # JSON bodies only; uploads omitted
     "response": {"status": 200, "headers": {...},                        # as sent, minus hop-by-hop headers
                  "body": "<text>" | "bodyBase64": "..." | "bodyOmitted": {"size": N, "sha256": "..."}}}

Bodies are kept as text (or base64 for bytes), not parsed, so replay answers the very bytes the platform sent
(after anonymization). Bodies larger than the recorder's limit are omitted with their size and sha256.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
from pathlib import Path
from typing import Any, Iterator

FORMAT = "rescale-mockkit-recording/1"
REQUEST_HEADERS = ("Content-Type", "Accept", "Range", "If-Range", "If-None-Match", "Content-Length")
SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"}


def body_fields(data: bytes | None, size: int, limit: int, digest: str | None = None,
                text_only: bool = False) -> dict[str, Any]:
    """The body of a recorded message: text when it is UTF-8, else base64 (or omitted when `text_only`); omitted
    with its size (and sha256 when known) beyond `limit` bytes."""
    if not size:
        return {}
    if data is None or size > limit or len(data) != size:
        return {"bodyOmitted": {"size": size, **({"sha256": digest} if digest else {})}}
    try:
        return {"body": data.decode("utf-8")}
    except UnicodeDecodeError:
        if text_only:
            return {"bodyOmitted": {"size": size}}
        return {"bodyBase64": base64.b64encode(data).decode()}


def body_bytes(message: dict[str, Any]) -> bytes | None:
    """A recorded message's body as bytes; None when it was omitted."""
    if "body" in message:
        return message["body"].encode("utf-8")
    if "bodyBase64" in message:
        return base64.b64decode(message["bodyBase64"])
    return None if "bodyOmitted" in message else b""


class Recorder:
    def __init__(self, directory: Path, max_body: int = 8 << 20) -> None:
        self.directory = directory / "exchanges"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_body = max_body
        existing = [int(p.name[:6]) for p in self.directory.glob("[0-9]*.json") if p.name[:6].isdigit()]
        self._numbers = itertools.count(max(existing, default=0) + 1)
        self._lock = threading.Lock()

    def save(self, exchange: dict[str, Any]) -> Path:
        with self._lock:
            number = next(self._numbers)
        path = self.directory / f"{number:06d}-{exchange.get('operationId') or 'unknown'}.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"format": FORMAT, **exchange}, indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        tmp.replace(path)
        return path


def read_recordings(directory: Path) -> Iterator[dict[str, Any]]:
    """Every recorded exchange under `directory` (or its `exchanges/`), in the order they were recorded."""
    folder = directory / "exchanges" if (directory / "exchanges").is_dir() else directory
    for path in sorted(folder.glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") == FORMAT:
            yield data
