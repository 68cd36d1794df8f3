"""File contents on disk. Uploads stream into `tmp/` while being hashed and only appear in `blobs/` by an atomic
rename once complete, so a half-written upload is never visible and never lost halfway."""
from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class BlobInfo:
    blob: str
    size: int
    md5: str
    sha512: str


class StagedUpload:
    """A writable, hash-as-you-go temporary file; werkzeug's multipart parser streams a part into it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "w+b")  # noqa: SIM115 - lives as long as the request
        self._md5 = hashlib.md5()
        self._sha512 = hashlib.sha512()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._md5.update(data)
        self._sha512.update(data)
        self.size += len(data)
        return self._fh.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def digests(self) -> tuple[str, str]:
        return self._md5.hexdigest(), self._sha512.hexdigest()

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root / "blobs"
        self.tmp = root / "tmp"
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def sweep_leftovers(self) -> None:
        """Remove uploads cut off by a crash or restart; only the process that holds the data dir's lock calls
        this, at start (a worker of `serve --workers` must not: another worker may be staging an upload)."""
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()

    def stage(self) -> StagedUpload:
        return StagedUpload(self.tmp / uuid.uuid4().hex)

    def commit(self, staged: StagedUpload, durable: bool = True) -> BlobInfo:
        """`durable=False` skips the fsync: for contents the fake can make again (a sweep's thousands of run
        outputs), where a sync per file would cost seconds."""
        staged.flush()
        if durable:
            os.fsync(staged._fh.fileno())
        staged.close()
        name = uuid.uuid4().hex
        os.replace(staged.path, self.root / name)
        md5, sha512 = staged.digests()
        return BlobInfo(name, staged.size, md5, sha512)

    def write(self, chunks: Iterable[bytes], durable: bool = True) -> BlobInfo:
        staged = self.stage()
        try:
            for chunk in chunks:
                staged.write(chunk)
        except BaseException:
            staged.discard()
            raise
        return self.commit(staged, durable)

    def path(self, blob: str) -> Path:
        return self.root / blob

    def delete(self, blob: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / blob).unlink()

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.iterdir())
