"""`process_output.log`: what the job printed, as the fake tells it. It names the command, the input files as they
were placed in the work directory (zip and tar.gz archives unpacked unless `decompress` is false), what the command
printed and its exit status."""
from __future__ import annotations

import contextlib
import tarfile
import zipfile
from typing import TYPE_CHECKING, BinaryIO

from ..store.blobs import Blobs
from ..timefmt import iso
from .simulate import Program

if TYPE_CHECKING:
    from .jobs import Snapshot

WORK_DIR = "/enc/uprod_work/work"
ARCHIVES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2")


def archive_members(source: BinaryIO, name: str) -> list[str] | None:
    """Member names of a zip or tar(.gz) archive (a seekable binary file), None if it is not one we can open."""
    try:
        if name.lower().endswith(".zip"):
            with zipfile.ZipFile(source) as archive:
                return [n for n in archive.namelist() if not n.endswith("/")]
        if name.lower().endswith(ARCHIVES):
            with tarfile.open(fileobj=source) as archive:
                return [m.name for m in archive.getmembers() if m.isfile()]
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    return None


def _inputs(snap: "Snapshot", blobs: Blobs) -> list[str]:
    lines = []
    for ja in snap.doc["jobanalyses"]:
        for ref in ja["inputFiles"]:
            record, name = ref["file"], ref["file"]["name"]
            if not blobs.exists(record["blob"]):
                lines.append(f"  {name}  (missing: the file was deleted)")
                continue
            members = None
            if ref["decompress"] and name.lower().endswith(ARCHIVES):  # read (ranged, from S3) only archives
                with contextlib.suppress(FileNotFoundError), blobs.open(record["blob"]) as source:
                    members = archive_members(source, name)
            if members is None:
                lines.append(f"  {name}")
                continue
            lines.append(f"  {name}  (unpacked)")
            lines += [f"    {member}" for member in members]
    return lines or ["  (none)"]


def process_output(snap: "Snapshot", program: Program, blobs: Blobs, finished: bool) -> str:
    assert snap.plan is not None and snap.plan.run_start is not None
    first = snap.doc["jobanalyses"][0]
    hardware = first["hardware"]
    started = iso(snap.plan.run_start)
    lines = [
        f"[{started}] Rescale job {snap.id}, run 1",
        f"Hardware: {hardware['coreType']}, {hardware['coresPerSlot']} cores per slot, {hardware['slots']} slot(s)",
        "Software: " + ", ".join(f"{ja['analysis']['name']} {ja['analysis']['versionName']}"
                                  for ja in snap.doc["jobanalyses"]),
        f"Working directory: {WORK_DIR}",
        *([f"Storage device {snap.doc['storageDevice']} mounted at ~/storage_{snap.doc['storageDevice']}/"]
          if snap.doc.get("storageDevice") else []),
        "Input files:",
        *_inputs(snap, blobs),
    ]
    for ja in snap.doc["jobanalyses"]:
        command = ja["command"].strip()
        if command and command not in ("#", "# ", ":", "#none"):
            lines.append(f"Executing command: {command}")
    lines += program.stdout
    if finished:
        plan = snap.plan
        if plan.stopped_by_user:
            lines.append("Job stopped by the user (SIGTERM sent to the command).")
        lines.append(f"[{iso(plan.run_end)}] Command exited with status {plan.exit_code}")
    return "".join(line + "\n" for line in lines)
