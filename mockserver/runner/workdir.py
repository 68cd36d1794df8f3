"""A run's folders, laid out as on a Rescale node: the home folder holds `work/` (the command's current directory,
where input files are placed by name and archives unpacked) and `work/shared/` on multi-node jobs. Outputs are the
files the run created or changed under `work/`, found by comparing listings taken before and after."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..store.blobs import Blobs

ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2")


@dataclass(frozen=True)
class InputFile:
    name: str
    blob: str
    decompress: bool


def place_inputs(work: Path, inputs: list[InputFile], blobs: Blobs) -> list[str]:
    """Copy each input into `work` by name (a copy: a job may change its inputs, never the stored file) and unpack
    archives unless `decompress` is false. Returns notes for the log (a missing or unreadable input)."""
    notes = []
    for item in inputs:
        if item.name in (".", ".."):
            notes.append(f"Input file {item.name!r} cannot be placed by that name; skipped.")
            continue
        target = work / item.name
        try:
            with _local_copy(blobs, item.blob, work.parent) as source:
                if item.decompress and item.name.lower().endswith(ARCHIVES):
                    try:
                        _unpack(source, item.name, work)
                        continue
                    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
                        notes.append(f"Input file {item.name} could not be unpacked ({error}); placed as it is.")
                if source != blobs.local_path(item.blob):
                    os.replace(source, target)  # already our own copy
                else:
                    shutil.copyfile(source, target)
        except FileNotFoundError:
            notes.append(f"Input file {item.name} is missing: it was deleted after the job was created.")
            continue
        os.chmod(target, 0o755)  # executable, as on Rescale (the notebook runs an uploaded ./7za)
    return notes


@contextlib.contextmanager
def _local_copy(blobs: Blobs, blob: str, scratch: Path) -> Iterator[Path]:
    """A real file with the blob's contents: the folder store's own (never written to), else a download into
    `scratch` (outside `work`, so it is never taken for an output) removed afterwards unless moved into place."""
    local = blobs.local_path(blob)
    if local is not None:
        if not local.exists():
            raise FileNotFoundError(local)
        yield local
        return
    fd, name = tempfile.mkstemp(dir=scratch, prefix=".input-")
    os.close(fd)
    try:
        blobs.copy_to(blob, Path(name))
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _unpack(source: Path, name: str, work: Path) -> None:
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(source) as archive:  # ZipFile.extract keeps members inside `work`
            archive.extractall(work)
        return
    with tarfile.open(source) as archive:
        archive.extractall(work, filter="data")  # refuses members that leave `work`, links outside, devices


def listing(work: Path) -> dict[str, list[int]]:
    """Regular files under `work` (symlinks are not followed): relative path -> [size, mtime_ns, inode]."""
    found: dict[str, list[int]] = {}
    for root, dirs, files in os.walk(work, followlinks=False):
        for name in files:
            path = Path(root, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            found[path.relative_to(work).as_posix()] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return found


def changed(before: dict[str, Any], after: dict[str, list[int]]) -> list[str]:
    return sorted(rel for rel, stat in after.items() if before.get(rel) != stat)


def save_listing(path: Path, found: dict[str, list[int]]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(found))
    os.replace(tmp, path)


def load_listing(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def read_chunks(path: Path, size: int = 1 << 20) -> Any:
    with open(path, "rb") as fh:
        while chunk := fh.read(size):
            yield chunk
