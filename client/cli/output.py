"""What the CLI prints, as the Rescale CLI prints it: informational lines `2017-06-04 04:23:44,452 - message` on
stdout (hidden by `--quiet`), data (JSON, ids, statuses) on stdout always, errors as `... - ERROR - message`."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any, TextIO


def stamp(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now)
    return moment.strftime("%Y-%m-%d %H:%M:%S,") + f"{moment.microsecond // 1000:03d}"


class Console:
    def __init__(self, quiet: bool = False, out: TextIO | None = None) -> None:
        self.quiet = quiet
        self.out = out or sys.stdout

    def info(self, message: str) -> None:
        """A log line; `--quiet` hides it."""
        if not self.quiet:
            print(f"{stamp()} - {message}", file=self.out, flush=True)

    def data(self, text: str) -> None:
        """Output that scripts read: printed whatever `--quiet` says."""
        print(text, file=self.out, flush=True)

    def json(self, value: Any) -> None:
        """One compact JSON document on one line, as `upload -e` prints it (seed 001)."""
        self.data(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def error(self, message: str) -> None:
        print(f"{stamp()} - ERROR - {message}", file=self.out, flush=True)


def epoch_ms(now: float | None = None) -> int:
    """`startTime`/`endTime` of `upload -e` are epoch milliseconds (seed 001: 1496576499829)."""
    return int((time.time() if now is None else now) * 1000)


# The keys of each file in `upload -e` (seed 001), in its order; the rest of the API's file is left out.
UPLOAD_FILE_KEYS = ("name", "storage", "pathParts", "isUploaded", "decryptedSize", "encodedEncryptionKey", "typeId",
                    "md5", "id")


def transfer_document(started_ms: int, ended_ms: int, files: list[dict[str, Any]], success: bool = True
                      ) -> dict[str, Any]:
    return {"success": success, "startTime": started_ms, "endTime": ended_ms,
            "files": [{key: f.get(key) for key in UPLOAD_FILE_KEYS if key in f} for f in files]}
