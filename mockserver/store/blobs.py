"""File contents, behind one interface with two stores: a folder (the default: the data dir's `blobs/`, or a folder
shared by several processes) and an S3-compatible object store (`s3blobs.py`, `serve --blobs s3://bucket/prefix`).

Uploads stream into a local staging folder (`tmp/`) while being hashed and only become a blob once complete (an
atomic rename into the folder, or a managed multipart upload to S3), so a half-written upload is never visible and
never lost halfway. Readers go through the interface (`open`, `copy_to`, `exists`, `size`); only the folder store
has a `local_path`, which the download handler hands to sendfile."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable

from .datadir import DataDirError


@dataclass(frozen=True)
class BlobInfo:
    blob: str
    size: int
    md5: str
    sha512: str


class BlobStoreError(DataDirError):
    """The blob store cannot be used (a bad `--blobs`, an unreachable bucket); reported at start like the data dir's
    own problems, in one line."""


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

    def finish(self, durable: bool) -> BlobInfo:
        """Flush (and fsync when `durable`) and close; the info names a new, unique blob (uuid4: unique across
        processes sharing the store)."""
        self._fh.flush()
        if durable:
            os.fsync(self._fh.fileno())
        self._fh.close()
        md5, sha512 = self.digests()
        return BlobInfo(uuid.uuid4().hex, self.size, md5, sha512)

    def discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Blobs:
    """What every blob store does. Subclasses store a finished staged upload (`_store`) and read blobs back."""

    def __init__(self, staging: Path) -> None:
        self.tmp = staging
        self.tmp.mkdir(parents=True, exist_ok=True)

    def sweep_leftovers(self, older_than: float = 0.0) -> int:
        """Remove staged uploads cut off by a crash or restart (only those untouched for `older_than` seconds: a
        staging folder shared with running processes holds their uploads in flight). Called once at start by the
        process that owns the data dir, never by a store's constructor (another worker may be uploading)."""
        removed, cutoff = 0, time.time() - older_than
        for leftover in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                if older_than <= 0 or leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
        return removed

    def stage(self) -> StagedUpload:
        return StagedUpload(self.tmp / uuid.uuid4().hex)

    def commit(self, staged: StagedUpload, durable: bool = True) -> BlobInfo:
        """`durable=False` skips the fsync: for contents the fake can make again (a sweep's thousands of run
        outputs), where a sync per file would cost seconds."""
        info = staged.finish(durable)
        try:
            self._store(staged.path, info.blob)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                staged.path.unlink()
            raise
        return info

    def write(self, chunks: Iterable[bytes], durable: bool = True) -> BlobInfo:
        staged = self.stage()
        try:
            for chunk in chunks:
                staged.write(chunk)
        except BaseException:
            staged.discard()
            raise
        return self.commit(staged, durable)

    def copy_to(self, blob: str, destination: Path) -> None:
        """The blob's contents as a new file at `destination` (FileNotFoundError if the blob is gone)."""
        with self.open(blob) as source, open(destination, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def local_path(self, blob: str) -> Path | None:
        """A real file holding the blob (for sendfile and archive readers), None when the store has none."""
        return None

    # -- per store ---------------------------------------------------------------------------------------------
    def _store(self, staged: Path, blob: str) -> None:
        """Make the finished staging file `staged` the blob `blob`; the staging file is gone afterwards."""
        raise NotImplementedError

    def open(self, blob: str, span: tuple[int, int] | None = None) -> BinaryIO:
        """A seekable binary reader (FileNotFoundError if the blob is gone). `span` (start, stop) hints at the
        bytes a caller will read, so a remote store fetches just those; reading elsewhere still works."""
        raise NotImplementedError

    def size(self, blob: str) -> int | None:
        """The blob's size in bytes, None if there is no such blob."""
        raise NotImplementedError

    def exists(self, blob: str) -> bool:
        return self.size(blob) is not None

    def delete(self, blob: str) -> None:
        raise NotImplementedError

    def disk_usage(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of connections (an object store's pool)."""


class BlobStore(Blobs):
    """Blobs as files in `ROOT/blobs`, staged in `ROOT/tmp` (one file system, so committing is a rename). ROOT is
    the data dir by default; a folder on shared storage serves several processes alike."""

    def __init__(self, root: Path) -> None:
        super().__init__(root / "tmp")
        self.root = root / "blobs"
        self.root.mkdir(parents=True, exist_ok=True)

    def _store(self, staged: Path, blob: str) -> None:
        os.replace(staged, self.root / blob)

    def copy_to(self, blob: str, destination: Path) -> None:
        shutil.copyfile(self.root / blob, destination)

    def path(self, blob: str) -> Path:
        return self.root / blob

    def local_path(self, blob: str) -> Path | None:
        return self.root / blob

    def open(self, blob: str, span: tuple[int, int] | None = None) -> BinaryIO:
        return open(self.root / blob, "rb")

    def size(self, blob: str) -> int | None:
        try:
            return (self.root / blob).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, blob: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / blob).unlink()

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.root.iterdir())

