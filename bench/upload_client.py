"""One upload in a fresh process, so its client-side peak RSS is its own: `python -m bench.upload_client METHOD
BASE_URL API_KEY PATH` prints JSON (ok, seconds, file id, the process's RSS before the upload and its peak).

- notebook   the seed notebook's `file_upload` (cell 41) as written: `requests.post(..., files=[...])`
- encoder    requests-toolbelt's MultipartEncoder, streamed from the file (what bench/transfers.py uploads with)
- client     the client kit: `RescaleClient(base_url, key, progress=False).upload_file(path)` (its import and the
             client's construction happen after `rssBefore` is read, so they count in the peak as a user's would)
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests
from requests_toolbelt import MultipartEncoder

from . import notebook_transfer


def _status_kb(name: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def upload_encoder(base_url: str, headers: dict[str, str], path: Path) -> str:
    with open(path, "rb") as fh:
        encoder = MultipartEncoder(fields={"file": (path.name, fh, "application/octet-stream")})
        response = requests.post(f"{base_url}/api/v2/files/contents/", data=encoder,
                                 headers={**headers, "Content-Type": encoder.content_type}, timeout=(10, 1800))
    response.raise_for_status()
    return response.json()["id"]


def upload_client(base_url: str, key: str, path: Path) -> str:
    from rescale_client import RescaleClient  # imported here: the other methods do not pay for it

    with RescaleClient(base_url, key, progress=False) as client:
        return str(client.upload_file(path)["id"])


def main(argv: list[str] | None = None) -> int:
    method, base_url, key, path = (argv or sys.argv[1:])[:4]
    headers = {"Authorization": f"Token {key}"}
    outcome: dict[str, Any] = {"method": method, "rssBefore": _status_kb("VmRSS")}
    started = time.perf_counter()
    try:
        if method == "notebook":
            outcome["fileId"] = notebook_transfer.file_upload(base_url, headers, path)
        elif method == "encoder":
            outcome["fileId"] = upload_encoder(base_url, headers, Path(path))
        elif method == "client":
            outcome["fileId"] = upload_client(base_url, key, Path(path))
        else:
            raise ValueError(f"unknown method {method}")
        outcome["ok"] = True
    except Exception as err:  # noqa: BLE001 - reported to the parent
        outcome.update(ok=False, error=f"{type(err).__name__}: {str(err)[:300]}")
    outcome["seconds"] = time.perf_counter() - started
    outcome["peakRss"] = _status_kb("VmHWM")
    outcome["bytes"] = os.path.getsize(path)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
