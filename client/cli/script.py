"""The input script of `submit -i`: the Rescale CLI's `#RESCALE_*` directives (read like SGE's `#$` lines) and the
`run.sh` the CLI makes of the script.

Directives, one per line, `#NAME=value` (quotes around the value are dropped), as the Rescale CLI's manual lists
them: `RESCALE_NAME`, `RESCALE_ANALYSIS`, `RESCALE_ANALYSIS_VERSION` (a versionCode; the latest when omitted),
`RESCALE_CORE_TYPE` (a code or a name, any case), `RESCALE_CORES`, `RESCALE_WALLTIME` (hours, or H:MM),
`RESCALE_ENV_<VAR>`, `RESCALE_EXISTING_FILES` (file ids, comma separated), `RESCALE_LOW_PRIORITY`,
`RESCALE_PROJECT_ID`, `USE_RESCALE_LICENSE` (no value), and the advanced `RESCALE_INBOUND_SSH_CIDR`,
`RESCALE_PUBLIC_KEY`, `RESCALE_AUTO_TERMINATE_CLUSTER` (read, not sent: the v2 job has no field for them).
SGE fallbacks: `#$ -N name`, `#$ -pe <env> <cores>`. Other `#RESCALE_*` lines are reported and ignored.
`run.sh` is the script with `module ...` and `source ...` lines commented out and absolute paths to programs
reduced to their names (`/usr/lib64/openmpi/bin/mpirun` -> `mpirun`), as the manual describes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

TRUE_WORDS = {"true", "on", "yes", "1"}
FALSE_WORDS = {"false", "off", "no", "0"}
KNOWN = {"RESCALE_NAME", "RESCALE_ANALYSIS", "RESCALE_ANALYSIS_VERSION", "RESCALE_CORE_TYPE", "RESCALE_CORES",
         "RESCALE_WALLTIME", "RESCALE_EXISTING_FILES", "RESCALE_LOW_PRIORITY", "RESCALE_PROJECT_ID",
         "USE_RESCALE_LICENSE", "RESCALE_INBOUND_SSH_CIDR", "RESCALE_PUBLIC_KEY", "RESCALE_AUTO_TERMINATE_CLUSTER"}
DIRECTIVE = re.compile(r"^#\s*((?:RESCALE|USE_RESCALE)_[A-Za-z0-9_]+)\s*(?:=\s*(.*?))?\s*$")
SGE = re.compile(r"^#\$\s+-(N|pe)\s+(.*?)\s*$")
ENV_CHANGE = re.compile(r"^\s*(module\s|source\s|\.\s)")
ABSOLUTE_PROGRAM = re.compile(r"^(\s*)/(?:[^\s/]+/)+([^\s/]+)")


class ScriptError(ValueError):
    """A directive the CLI cannot use; the message names the line."""


@dataclass
class Directives:
    name: str | None = None
    analysis: str | None = None
    version: str | None = None
    core_type: str | None = None
    cores: int | None = None
    walltime_hours: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    existing_files: list[str] = field(default_factory=list)
    low_priority: bool | None = None
    project_id: str | None = None
    use_rescale_license: bool = False
    unsent: dict[str, str] = field(default_factory=dict)
    body: str = ""  # the script's lines that are not comments
    ignored: list[str] = field(default_factory=list)  # directives this CLI does not know, with their lines


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _positive_int(value: str, line: int, what: str) -> int:
    if not re.fullmatch(r"\d{1,9}", value) or int(value) < 1:
        raise ScriptError(f"line {line}: {what} must be a positive whole number, not {value!r}")
    return int(value)


def _hours(value: str, line: int) -> int:
    """`10` (hours), `96:00` or `1:30:00` (H:MM[:SS], rounded up to whole hours, the unit of the API)."""
    match = re.fullmatch(r"(\d{1,6})(?::([0-5]\d))?(?::([0-5]\d))?", value)
    if not match or value == "0":
        raise ScriptError(f"line {line}: RESCALE_WALLTIME must be hours or H:MM, not {value!r}")
    seconds = int(match[1]) * 3600 + int(match[2] or 0) * 60 + int(match[3] or 0)
    return max(1, math.ceil(seconds / 3600))


def _boolean(value: str, line: int, what: str) -> bool:
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ScriptError(f"line {line}: {what} must be true or false, not {value!r}")


def parse(text: str) -> Directives:
    found = Directives()
    sge_name, sge_cores = None, None
    found.body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        sge = SGE.match(line)
        if sge:
            if sge[1] == "N":
                sge_name = _unquote(sge[2])
            else:
                words = sge[2].split()
                sge_cores = _positive_int(words[-1], number, "#$ -pe") if words else None
            continue
        match = DIRECTIVE.match(line)
        if not match:
            continue
        key, value = match[1].upper(), _unquote(match[2] or "")
        if key.startswith("RESCALE_ENV_"):
            var = match[1][len("RESCALE_ENV_"):]
            if not var:
                raise ScriptError(f"line {number}: RESCALE_ENV_ needs a variable name")
            found.env[var] = value
        elif key not in KNOWN:  # a newer CLI's directive, perhaps: the job is still worth submitting
            found.ignored.append(f"line {number}: #{match[1]}")
        elif key == "USE_RESCALE_LICENSE":
            found.use_rescale_license = True if match[2] is None else _boolean(value, number, key)
        elif not value:
            raise ScriptError(f"line {number}: #{key} has no value")
        elif key == "RESCALE_NAME":
            found.name = value
        elif key == "RESCALE_ANALYSIS":
            found.analysis = value
        elif key == "RESCALE_ANALYSIS_VERSION":
            found.version = value
        elif key == "RESCALE_CORE_TYPE":
            found.core_type = value
        elif key == "RESCALE_CORES":
            found.cores = _positive_int(value, number, key)
        elif key == "RESCALE_WALLTIME":
            found.walltime_hours = _hours(value, number)
        elif key == "RESCALE_EXISTING_FILES":
            found.existing_files = [part.strip() for part in value.split(",") if part.strip()]
        elif key == "RESCALE_LOW_PRIORITY":
            found.low_priority = _boolean(value, number, key)
        elif key == "RESCALE_PROJECT_ID":
            found.project_id = value
        else:
            found.unsent[key] = value
    found.name = found.name or sge_name
    found.cores = found.cores or sge_cores
    return found


def run_script(text: str) -> str:
    """What the CLI uploads as `run.sh`: environment-changing lines commented out, absolute program paths cut."""
    out = []
    for line in text.splitlines():
        if ENV_CHANGE.match(line):
            out.append("#" + line.lstrip())
        elif not line.lstrip().startswith("#"):
            out.append(ABSOLUTE_PROGRAM.sub(r"\1\2", line))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def job_body(found: Directives, *, name: str, analysis: str, version: str, core_type: str,
             input_files: list[dict[str, Any]]) -> dict[str, Any]:
    """The v2 job the CLI creates: one analysis running `./run.sh` on one slot of `cores` cores."""
    hardware: dict[str, Any] = {"coreType": core_type, "coresPerSlot": found.cores or 1, "slots": 1}
    if found.walltime_hours is not None:
        hardware["walltime"] = found.walltime_hours
    command = "./run.sh"
    if analysis == "abaqus" and "interactive" in found.body:
        # Rescale refuses an Abaqus command without `interactive` (rescale-api-surface, errors); the script has it,
        # `./run.sh` does not: prefix the comment other clients add (the shell ignores it).
        command = "# interactive\n" + command
    analysis_body: dict[str, Any] = {
        "analysis": {"code": analysis, "version": version},
        "command": command,
        "hardware": hardware,
        "inputFiles": input_files,
        "useRescaleLicense": found.use_rescale_license,
    }
    if found.env:
        analysis_body["envVars"] = dict(found.env)
    body: dict[str, Any] = {"name": name, "jobanalyses": [analysis_body]}
    if found.low_priority is not None:
        body["isLowPriority"] = found.low_priority
    if found.project_id:
        body["projectId"] = found.project_id
    return body
