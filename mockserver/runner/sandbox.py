"""How a job's command is started and signalled: a clean environment, resource limits (`launch.py`), its own
session and process group, and, where bubblewrap (`bwrap`) works, a sandbox in which only the job's home folder
is writable (the rest of the machine read-only, a private /tmp and process namespace)."""
from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launch.py")
TOKEN_VAR = "RESCALE_MOCK_RUN_TOKEN"  # marks every process of a run, so a restart can find leftovers
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"


@functools.lru_cache(maxsize=1)
def bwrap() -> str | None:
    """bubblewrap, if installed and allowed to make namespaces here (containers may forbid it);
    RESCALE_MOCK_SANDBOX=none runs without it."""
    found = shutil.which("bwrap")
    if found is None or os.environ.get("RESCALE_MOCK_SANDBOX") == "none":
        return None
    probe = [found, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--", "true"]
    try:
        ok = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return found if ok else None


def shims(folder: Path) -> Path | None:
    """`folder` with `python` -> the machine's python3 when the machine has no `python` (Rescale nodes have both;
    the notebook's zipped job runs `python calculate_pi.py`); None when no shim is needed."""
    python3 = shutil.which("python3", path=BASE_PATH)
    if shutil.which("python", path=BASE_PATH) or not python3:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "python"
    if not link.is_symlink():
        link.symlink_to(python3)
    return folder


def environment(home: Path, token: str, shim: Path | None, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the server's own (its keys, its virtualenv) leaks into a job."""
    path = BASE_PATH if shim is None else f"{BASE_PATH}:{shim}"
    env = {"PATH": path, "HOME": str(home), "USER": "uprod", "LANG": "C.UTF-8", "SHELL": "/bin/bash",
           "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    env[TOKEN_VAR] = token  # last: the job's own envVars cannot hide it from the restart's clean-up
    return env


def argv(home: Path, work: Path, script: str, limits: dict[str, int], shim: Path | None) -> list[str]:
    command = ["bash", "-c", script]
    box = bwrap()
    if box is not None:
        shown = ["--ro-bind", str(shim), str(shim)] if shim is not None else []
        command = [box, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", *shown,
                   "--bind", str(home), str(home), "--chdir", str(work), "--unshare-pid", "--unshare-ipc",
                   "--die-with-parent", "--", *command]
    return [sys.executable, "-I", "-S", str(LAUNCHER), _json(limits), *command]


def _json(limits: dict[str, int]) -> str:
    import json

    return json.dumps(limits)


def _group_members(pgid: int) -> list[tuple[int, str]]:
    members = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            members.append((int(entry.name), comm))
    return members


def terminate(pgid: int) -> None:
    """SIGTERM to the command and its children, not to the sandbox's own bwrap processes: a command that traps it
    can finish writing its files, and its exit status comes back through bwrap."""
    members = [pid for pid, comm in _group_members(pgid) if comm != "bwrap"]
    if not members:  # no /proc: the whole group
        _signal_group(pgid, signal.SIGTERM)
    for pid in members:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def kill(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_leftovers(token: str) -> int:
    """Kill every process carrying the run's token (after a crash, commands that outlived the server)."""
    marker = f"{TOKEN_VAR}={token}".encode()
    killed = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    return killed
