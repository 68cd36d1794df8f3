"""File transfers with bounded memory, retries at the application level, and resume.

Upload (`upload_file`): the file is streamed as `multipart/form-data` (requests-toolbelt's `MultipartEncoder`, so
memory stays flat whatever the size) and never retried by the transport. On a dropped connection, a timeout, a 5xx
or a 429 the upload is tried again (the file reopened, the encoder rebuilt), `attempts` times in all. Uploads are
POSTs that create a file, so before each new attempt after a failure that may have reached the server (anything
but a 429) the client looks for a file with the same name, size and sha512 among the user's files and returns it
instead of uploading again: a retry never leaves two copies. (An older identical file counts too: same name and
content is the same input for a job.)

Download (`download_file`): the file's size and sha512 come from its metadata; it is fetched in `chunk_size`
ranges (`Range: bytes=a-b`, `If-Range: <ETag>`) by a bounded thread pool, each range written at its offset into
`<dest>.part`. By default the ranges grow with the file (`auto_chunk_size`): a few per worker, so every worker stays
busy to the end while the cost of a request per range stays small. Progress is recorded in `<dest>.part.json`; a
dropped connection resumes the range where it stopped, and a later call resumes an interrupted download. The sha512
is computed while the ranges arrive and checked against `fileChecksums` at the end (`ChecksumMismatch` otherwise,
and the partial file is removed); `.part` is then renamed onto `dest` atomically. If the file changed on the server
meanwhile (`If-Range` answered 200), the download starts over once. `verify=False` skips the sha512 (the sizes of
every range are still checked): sha512 runs at under 1 GB/s on one core, slower than a fast local link. Without it,
a resumed download also trusts `.part.json` (written, not fsynced) for what is already on disk.

Progress bars (tqdm) are shown with `progress=True`, hidden with `False`; the default `None` shows them only when
stderr is a terminal, so logs and CI stay quiet.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import requests

from .api.files import FilesApi
from .api.jobs import JobsApi
from .errors import APIError, ChecksumMismatch, TooManyRequests, TransferError, TransportError
from .models import File
from .retry import RetryPolicy

MiB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK = 8 * MiB, 64 * MiB
RANGES_PER_WORKER = 4
HASH_BLOCK = MiB  # read into one reused buffer: a fresh buffer per read costs ~8% of sha512's time in page faults
BLOCK = 128 * 1024  # bytes read and written at a time (what a dropped connection can cost)
PathLike = str | os.PathLike[str]
Sleep = Callable[[float], None]
DEFAULT_RETRY = RetryPolicy()
FAILURES = (APIError, TransportError, requests.RequestException)  # what `RetryPolicy.retryable` is asked about


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool | None, initial: int = 0) -> Iterator[Any]:
    """A tqdm byte counter; `enabled=None` shows it only on a terminal (tqdm's `disable=None`)."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    bar = tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
               disable=None if enabled is None else not enabled, leave=False)
    try:
        yield bar
    finally:
        bar.close()


def sha512_of(path: PathLike) -> str:
    digest = hashlib.sha512()
    with open(path, "rb", buffering=0) as fh:
        _hash_into(digest, fh, None, memoryview(bytearray(HASH_BLOCK)))
    return digest.hexdigest()


def _hash_into(digest: Any, fh: Any, length: int | None, view: memoryview) -> int:
    """Feed `length` bytes (all, if None) from `fh`'s position to `digest`, read through `view`; returns how many
    it read."""
    count = 0
    while length is None or count < length:
        got = fh.readinto(view if length is None else view[:min(len(view), length - count)])
        if not got:
            break
        digest.update(view[:got])
        count += got
    return count


def expected_sha512(file: File) -> str | None:
    """The sha512 the server computed (`fileChecksums`), if it gave one."""
    for checksum in file.get("fileChecksums") or []:
        if str(checksum.get("hashFunction", "")).lower() == "sha512" and checksum.get("fileHash"):
            return str(checksum["fileHash"]).lower()
    return None


# -- upload ----------------------------------------------------------------------------------------------------------
def upload_file(files: FilesApi, path: PathLike, *, name: str | None = None, type_id: int | None = None,
                attempts: int = 4, progress: bool | None = None, sleep: Sleep = time.sleep,
                retry: RetryPolicy = DEFAULT_RETRY) -> File:
    """Upload one file, streamed; returns the stored `File`. See the module's docstring for the retries: when and
    how long they wait is `retry`'s decision (the client's one policy), `attempts` times in all."""
    policy = retry.with_attempts(attempts)
    source = Path(path)
    name = name or source.name
    size = source.stat().st_size
    digest: str | None = None
    for attempt in range(1, attempts + 1):
        try:
            with open(source, "rb") as fh, progress_bar(size, name, progress) as bar:
                fields: dict[str, Any] = {"file": (name, fh, "application/octet-stream")}
                if type_id is not None:
                    fields["typeId"] = str(type_id)
                return files.upload_file(fields=fields, progress=lambda sent: bar.update(max(0, sent - bar.n)))
        except FAILURES as err:
            if not policy.retryable(err, idempotent=True):  # resending is safe: a stored copy is looked for first
                raise
            pause = policy.pause(err, attempt, idempotent=True)
            if pause is None:
                raise TransferError(f"upload of {source} failed after {attempts} attempts: {err}") from err
            if not isinstance(err, TooManyRequests):  # a 429 stored nothing; anything else may have
                digest = digest or sha512_of(source)
                stored = find_uploaded(files, name, size, digest, type_id)
                if stored is not None:
                    return stored
            sleep(pause)
    raise AssertionError("unreachable")


def find_uploaded(files: FilesApi, name: str, size: int, digest: str, type_id: int | None = None) -> File | None:
    """The newest of the user's files with this name, size, sha512 (and type), if any."""
    for candidate in files.iter_files(search=name, page_size=100).list(limit=100):
        if (candidate.get("name") == name and candidate.get("decryptedSize") == size
                and expected_sha512(candidate) == digest and candidate.get("isDeleted") is not True
                and (type_id is None or candidate.get("typeId") == type_id)):
            return candidate
    return None


def make_archive(directory: PathLike, target: PathLike, fmt: Literal["zip", "tar.gz"] = "zip",
                 include_root: bool = True) -> Path:
    """Archive a directory's files (sorted, so the archive is repeatable), under the directory's own name when
    `include_root` (like `zip -r inputs.zip inputs`), else at the top level."""
    root, target = Path(directory), Path(target)
    if not root.is_dir():
        raise TransferError(f"{root} is not a directory")
    prefix = PurePosixPath(root.name) if include_root else PurePosixPath()
    members = sorted(p for p in root.rglob("*") if p.is_file())
    if fmt == "zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in members:
                archive.write(member, str(prefix / member.relative_to(root).as_posix()))
    elif fmt == "tar.gz":
        with tarfile.open(target, "w:gz") as tar:
            for member in members:
                tar.add(member, arcname=str(prefix / member.relative_to(root).as_posix()), recursive=False)
    else:
        raise ValueError(f"format must be 'zip' or 'tar.gz', not {fmt!r}")
    return target


def upload_directory(files: FilesApi, directory: PathLike, *, fmt: Literal["zip", "tar.gz"] = "zip",
                     name: str | None = None, include_root: bool = True, attempts: int = 4,
                     progress: bool | None = None, sleep: Sleep = time.sleep,
                     retry: RetryPolicy = DEFAULT_RETRY) -> File:
    """Archive a directory into a temporary zip or tar.gz and upload it; Rescale unpacks archives given as job
    inputs (unless `decompress` is false)."""
    root = Path(directory)
    name = name or f"{root.resolve().name}.{fmt}"
    with tempfile.TemporaryDirectory(prefix="rescale-upload-") as scratch:
        archive = make_archive(root, Path(scratch) / name, fmt, include_root)
        return upload_file(files, archive, name=name, attempts=attempts, progress=progress, sleep=sleep,
                           retry=retry)


# -- download --------------------------------------------------------------------------------------------------------
class _Changed(Exception):
    """The file changed on the server during the download (`If-Range` got a 200)."""


class _Aborted(Exception):
    """Another range failed: stop this one."""


class PrefixHasher:
    """sha512 of `<dest>.part` computed while the ranges arrive: a thread hashes the file's contiguous completed
    prefix as it grows, so checking the download costs almost nothing after the last byte lands."""

    def __init__(self, path: Path, size: int, ready: Callable[[], int]) -> None:
        self.path, self.size, self.ready = path, size, ready
        self.digest = hashlib.sha512()
        self.buffer = memoryview(bytearray(HASH_BLOCK))
        self.hashed = 0
        self.wake = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="rescale-download-sha512", daemon=True)
        self.thread.start()

    def poke(self) -> None:
        self.wake.set()

    def _run(self) -> None:
        with open(self.path, "rb", buffering=0) as fh:
            while self.hashed < self.size and not self.stopped:
                target = self.ready()
                if target <= self.hashed:
                    self.wake.wait(0.05)
                    self.wake.clear()
                    continue
                fh.seek(self.hashed)
                self.hashed += _hash_into(self.digest, fh, target - self.hashed, self.buffer)

    def finish(self) -> str | None:
        """The hex digest once the whole file is hashed; None if the download stopped short."""
        self.poke()
        self.thread.join()
        return self.digest.hexdigest() if self.hashed == self.size else None

    def stop(self) -> None:
        self.stopped = True
        self.poke()
        self.thread.join()


def auto_chunk_size(size: int, workers: int) -> int:
    """The range size for a file: `RANGES_PER_WORKER` ranges per worker, within `MIN_CHUNK`..`MAX_CHUNK`."""
    return min(MAX_CHUNK, max(MIN_CHUNK, size // (max(1, workers) * RANGES_PER_WORKER)))


class RangedDownload:
    """One file into `<dest>.part` by concurrent ranges; see the module's docstring."""

    def __init__(self, files: FilesApi, file: File, dest: Path, *, workers: int, chunk_size: int, attempts: int,
                 progress: bool | None, sleep: Sleep, verify: bool = True,
                 retry: RetryPolicy = DEFAULT_RETRY) -> None:
        self.files, self.file, self.dest = files, file, dest
        self.file_id = str(file["id"])
        self.size = int(file.get("decryptedSize") or 0)
        self.sha512 = expected_sha512(file)
        self.verify = verify and self.sha512 is not None
        self.part = dest.with_name(dest.name + ".part")
        self.state_path = dest.with_name(dest.name + ".part.json")
        self.workers, self.attempts, self.progress, self.sleep = max(1, workers), max(1, attempts), progress, sleep
        self.retry = retry.with_attempts(self.attempts)
        self.chunk_size = max(1, chunk_size)
        self.etag: str | None = None
        self.done: dict[int, int] = {}  # chunk index -> bytes written from its start
        self.frontier = 0  # the first chunk not yet complete: what precedes it is the hashable prefix
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.abort = threading.Event()
        self.bar: Any = None
        self.hasher: PrefixHasher | None = None

    # state ------------------------------------------------------------------------------------------------------
    def _load(self) -> bool:
        """Resume from `.part.json` when it describes this very file; else start afresh."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            fits = (state["fileId"], state["size"], state["sha512"]) == (self.file_id, self.size, self.sha512)
            if fits and self.part.is_file() and self.part.stat().st_size == self.size:
                self.chunk_size, self.etag = int(state["chunkSize"]), state.get("etag")
                self.done = {int(k): int(v) for k, v in state["done"].items()}
                self.frontier = 0
                self._move_frontier()
                return True
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return False

    def _save(self) -> None:
        with self.lock:
            state = {"fileId": self.file_id, "size": self.size, "sha512": self.sha512, "etag": self.etag,
                     "chunkSize": self.chunk_size, "done": {str(k): v for k, v in sorted(self.done.items())}}
        scratch = self.state_path.with_name(self.state_path.name + f".{threading.get_ident()}")
        scratch.write_text(json.dumps(state), encoding="utf-8")
        os.replace(scratch, self.state_path)

    def _fresh(self) -> None:
        self.done, self.etag, self.frontier = {}, None, 0
        with open(self.part, "wb") as fh:
            fh.truncate(self.size)
        self._save()

    def _bounds(self, index: int) -> tuple[int, int]:
        start = index * self.chunk_size
        return start, min(self.size, start + self.chunk_size) - 1

    def _pending(self) -> list[int]:
        count = -(-self.size // self.chunk_size)
        return [i for i in range(count) if self.done.get(i, 0) < self._length(i)]

    # run --------------------------------------------------------------------------------------------------------
    def run(self) -> Path:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        for restart in range(2):
            if restart or not self._load():
                self._fresh()
            initial = sum(self.done.values())
            self.hasher = PrefixHasher(self.part, self.size, self._contiguous) if self.verify else None
            with progress_bar(self.size, self.file.get("name") or self.file_id, self.progress, initial) as bar:
                self.bar = bar
                try:
                    self._fetch_all()
                    break
                except _Changed:
                    self._stop_hasher()
                    if restart:
                        raise TransferError(f"file {self.file_id} keeps changing during the download") from None
                except BaseException:
                    self._stop_hasher()
                    raise
        if self.verify:
            digest = (self.hasher.finish() if self.hasher else None) or sha512_of(self.part)
            if digest != self.sha512:
                self._discard()
                raise ChecksumMismatch(f"file {self.file_id}: sha512 {digest} of the download differs from "
                                       f"fileChecksums {self.sha512}; the partial file was removed")
        os.replace(self.part, self.dest)
        self.state_path.unlink(missing_ok=True)
        return self.dest

    def _stop_hasher(self) -> None:
        if self.hasher is not None:
            self.hasher.stop()
            self.hasher = None

    def _discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)

    def _fetch_all(self) -> None:
        self.abort.clear()
        pending = self._pending()
        if pending and self.etag is None:  # one range first, to learn the ETag (and that ranges are served)
            self._fetch(pending.pop(0))
        if not pending:
            return
        with ThreadPoolExecutor(max_workers=min(self.workers, len(pending)),
                                thread_name_prefix="rescale-download") as pool:
            futures = [pool.submit(self._fetch, index) for index in pending]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in finished if f.exception() is not None]
            if failed:
                self.abort.set()
                for future in futures:
                    future.cancel()
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None and not isinstance(error, _Aborted):
                raise error

    def _fetch(self, index: int) -> None:
        start, end = self._bounds(index)
        failures = 0
        try:
            while start + self.done.get(index, 0) <= end:
                if self.abort.is_set():
                    raise _Aborted()
                position = start + self.done.get(index, 0)
                try:
                    self._fetch_range(index, position, end)
                except FAILURES as err:
                    if not self.retry.retryable(err, idempotent=True):  # a GET, resumed where it stopped
                        raise
                    failures += 1
                    pause = self.retry.pause(err, failures, idempotent=True)
                    if pause is None:
                        raise TransferError(f"file {self.file_id}: bytes {position}-{end} failed after "
                                            f"{self.attempts} attempts: {err}") from err
                    self._save()
                    self.sleep(pause)
        finally:
            self._save()

    def _fetch_range(self, index: int, position: int, end: int) -> None:
        response = self.files.download_file(file_id=self.file_id, range=f"bytes={position}-{end}",
                                            if_range=self.etag)
        with response:
            if response.status_code == 200:
                if self.etag is not None:
                    raise _Changed()
                self._whole_file(response)
                return
            if response.status_code != 206:
                raise TransferError(f"file {self.file_id}: unexpected {response.status_code} for a range")
            match = re.match(r"bytes (\d+)-(\d+)/(\d+)", response.headers.get("Content-Range", ""))
            if not match or int(match[1]) != position or int(match[3]) != self.size:
                raise TransferError(f"file {self.file_id}: asked for bytes {position}-{end}, got "
                                    f"{response.headers.get('Content-Range')!r}")
            if self.etag is None and response.headers.get("ETag"):
                self.etag = response.headers["ETag"]
            with open(self.part, "r+b", buffering=0) as fh:
                fh.seek(position)
                for block in response.iter_content(BLOCK):
                    if self.abort.is_set():
                        raise _Aborted()
                    with self.write_lock:  # one writer at a time: concurrent writers contend in the kernel
                        _write_all(fh, block)
                    self._advance(index, len(block))

    def _whole_file(self, response: requests.Response) -> None:
        """The server ignored `Range` (200 on the first request): take the whole body, from the start."""
        self._stop_hasher()  # what it hashed may be rewritten: check the file after the download instead
        self.done = {}
        written = 0
        with open(self.part, "r+b", buffering=0) as fh:
            for block in response.iter_content(BLOCK):
                _write_all(fh, block)
                written += len(block)
                if self.bar is not None:
                    self.bar.update(len(block))
        if written != self.size:
            raise TransferError(f"file {self.file_id}: got {written} bytes, expected {self.size}")
        count = -(-self.size // self.chunk_size)
        self.done, self.frontier = {i: self._length(i) for i in range(count)}, count

    def _advance(self, index: int, count: int) -> None:
        with self.lock:
            self.done[index] = self.done.get(index, 0) + count
            if index == self.frontier:
                self._move_frontier()
            if self.bar is not None:
                self.bar.update(count)
        if self.hasher is not None:
            self.hasher.poke()

    def _move_frontier(self) -> None:
        while self.frontier * self.chunk_size < self.size and \
                self.done.get(self.frontier, 0) >= self._length(self.frontier):
            self.frontier += 1

    def _length(self, index: int) -> int:
        start, end = self._bounds(index)
        return end - start + 1

    def _contiguous(self) -> int:
        """Bytes from the start of the file that are all written."""
        with self.lock:
            return min(self.size, self.frontier * self.chunk_size + self.done.get(self.frontier, 0))


def _write_all(fh: Any, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = fh.write(view)
        view = view[written:]


def download_file(files: FilesApi, file_id: str, dest: PathLike, *, file: File | None = None, workers: int = 8,
                  chunk_size: int | None = None, attempts: int = 5, verify: bool = True,
                  progress: bool | None = None, sleep: Sleep = time.sleep, retry: RetryPolicy = DEFAULT_RETRY) -> Path:
    """Download a file to `dest` (a path, or an existing directory: then under the file's name) and check its
    sha512 (unless `verify=False`); returns the path written. `file` saves a metadata request when the caller has
    it already; `chunk_size` defaults to `auto_chunk_size`."""
    meta = file if file is not None else files.get_file(file_id=file_id)
    target = Path(dest)
    if target.is_dir():
        target = target / safe_relative(str(meta.get("name") or file_id))
    size = int(meta.get("decryptedSize") or 0)
    if size == 0:
        return _empty(meta, target)
    return RangedDownload(files, {**meta, "id": file_id}, target, workers=workers,
                          chunk_size=auto_chunk_size(size, workers) if chunk_size is None else chunk_size,
                          attempts=attempts, progress=progress, sleep=sleep, verify=verify, retry=retry).run()


def _empty(meta: File, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha512(b"").hexdigest()
    expected = expected_sha512(meta)
    if expected is not None and expected != digest:
        raise ChecksumMismatch(f"file {meta.get('id')}: empty, but fileChecksums says {expected}")
    target.write_bytes(b"")
    return target


def safe_relative(relative: str) -> Path:
    """A server-given relative path as a local one; absolute paths and `..` are refused."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts or re.match(r"^[A-Za-z]:", parts[0]):
        raise TransferError(f"refusing to write outside the destination: {relative!r}")
    return Path(*parts)


def download_job_outputs(jobs: JobsApi, files: FilesApi, job_id: str, dest_dir: PathLike, pattern: str = "*", *,
                         workers: int = 8, chunk_size: int | None = None, attempts: int = 5, verify: bool = True,
                         progress: bool | None = None, sleep: Sleep = time.sleep,
                         retry: RetryPolicy = DEFAULT_RETRY) -> list[Path]:
    """Download the job's output files whose relative path (or name) matches the glob `pattern`, keeping their
    relative paths under `dest_dir`; each one is checked against its sha512 unless `verify=False`."""
    root = Path(dest_dir)
    written = []
    for output in jobs.iter_job_files(job_id=job_id, page_size=1000):
        relative = str(output.get("relativePath") or output.get("name") or "")
        if not (fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(str(output.get("name")), pattern)):
            continue
        target = root / safe_relative(relative)
        written.append(download_file(files, str(output["id"]), target, file=output, workers=workers,
                                     chunk_size=chunk_size, attempts=attempts, verify=verify, progress=progress,
                                     sleep=sleep, retry=retry))
    return written
