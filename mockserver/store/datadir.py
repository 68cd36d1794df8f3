"""The data directory: created private, checked usable before the server says it is ready, and held by one server
at a time through an OS lock that the OS releases when the holder dies (so a crash never leaves it locked)."""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

LOCK_NAME = "server.lock"  # the locked file
PID_NAME = "server.pid"  # who holds it (read by a server that finds the lock taken)


class DataDirError(Exception):
    """The data directory cannot be used; the message says why, in one line."""


def prepare(folder: Path) -> Path:
    """Create the folder (mode 0700) if it is missing and prove that files can be written in it."""
    folder = folder.expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise DataDirError(f"data dir {folder} is not a directory")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = folder / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise DataDirError(f"data dir {folder} is not usable: {err.strerror or err}") from None
    return folder


class DataDirLock:
    """Held for as long as a server uses the folder; a second server on the same folder is refused and told which
    process holds it."""

    def __init__(self, folder: Path) -> None:
        self._fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(self._fd)
        except OSError:
            os.close(self._fd)
            holder = _read_pid(folder / PID_NAME)
            raise DataDirError(f"data dir {folder} is in use by another rescale-mock server (pid {holder}); "
                               "stop it, or choose another --data-dir") from None
        self._pid_file = folder / PID_NAME
        self._pid_file.write_text(f"{os.getpid()}\n", encoding="ascii")

    def release(self) -> None:
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            self._pid_file.unlink()
        os.close(self._fd)  # closing the descriptor releases the lock
        self._fd = -1


def _read_pid(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip() or "unknown"
    except OSError:
        return "unknown"


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
