"""What a real run's process runs and within which bounds: its `bash -c` script and its resource limits (shared by
a job's run and a sweep's runs)."""
from __future__ import annotations

from typing import Any

STOP_GRACE = 3.0  # real seconds between SIGTERM and SIGKILL


def compose(doc: dict[str, Any]) -> str:
    """The script `bash -c` runs: the analyses' commands in order, between the pre- and post-processing commands
    when given (the post command runs whatever the command's status; the job exits with the command's)."""
    command = "\n".join(ja["command"] for ja in doc["jobanalyses"])
    pre = "\n".join(ja["preProcessScriptCommand"] for ja in doc["jobanalyses"] if ja["preProcessScriptCommand"].strip())
    post = "\n".join(ja["postProcessScriptCommand"] for ja in doc["jobanalyses"]
                     if ja["postProcessScriptCommand"].strip())
    if not pre and not post:
        return command
    lines = ["__rescale_status=0"]
    if pre:
        lines.append(f"( {pre}\n) || __rescale_status=$?")
    lines.append(f'if [ "$__rescale_status" -eq 0 ]; then ( {command}\n); __rescale_status=$?; fi')
    if post:
        lines.append(f"( {post}\n)")
    lines.append('exit "$__rescale_status"')
    return "\n".join(lines)


def limits(hardware: dict[str, Any], core_type: dict[str, Any]) -> dict[str, int]:
    """Per-process limits from the hardware asked for: CPU seconds (cores x walltime, a day without one), memory
    (the core type's per core, 2 GiB at least), file size (its storage), open files."""
    cores = int(hardware["coresPerSlot"]) * int(hardware.get("slots") or 1)
    hours = hardware.get("walltime") or 24
    memory_mb = max(int(core_type.get("memory") or 0) * cores, 2048)
    storage_gb = int(core_type.get("storage") or 100)
    return {"RLIMIT_CPU": int(cores * hours * 3600), "RLIMIT_AS": memory_mb << 20,
            "RLIMIT_FSIZE": storage_gb * 10**9, "RLIMIT_NOFILE": 4096, "RLIMIT_CORE": 0}
