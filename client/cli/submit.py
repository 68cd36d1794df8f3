"""`rescale-cli submit`: the job an input script describes, created, submitted and (with `-E`) followed to its end
and downloaded, as the Rescale CLI does it (see `script` for the directives and `run.sh`)."""
from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..errors import NotFound, RescaleError
from ..logs import saved_log_lines
from ..waiters import JOB_SUCCESS_REASON, JOB_TERMINAL
from . import script as scripts
from .context import CliError, Context
from .verbs import LOG, download_outputs, expand_files

E2E_OUTPUT_DIR = "output"  # where `submit -E` puts the results (the Rescale CLI's hands-on shows `output/`)


def find_analysis(ctx: Context, code: str | None, version: str | None) -> tuple[str, str]:
    if not code:
        raise CliError("the script has no #RESCALE_ANALYSIS=<code> (list-info -a shows the codes)")
    for analysis in ctx.client().catalog.iter_analyses(page_size=100):
        if str(analysis.get("code")).lower() != code.lower():
            continue
        versions = list(analysis.get("versions") or [])
        if not versions:
            raise CliError(f"analysis {code} has no versions")
        if version is None:  # the manual: the latest version when omitted
            return str(analysis["code"]), str(versions[0]["versionCode"])
        for candidate in versions:
            if version in (candidate.get("versionCode"), candidate.get("version")):
                return str(analysis["code"]), str(candidate["versionCode"])
        known = ", ".join(str(v.get("versionCode")) for v in versions)
        raise CliError(f"analysis {code} has no version {version} (versionCodes: {known})")
    raise CliError(f"no analysis with the code {code} (list-info -a shows the codes)")


def find_core_type(ctx: Context, wanted_type: str | None) -> str:
    if not wanted_type:
        raise CliError("the script has no #RESCALE_CORE_TYPE=<code> (list-info -c shows the codes)")
    for core_type in ctx.client().catalog.iter_core_types(page_size=100):
        if wanted_type.lower() in (str(core_type.get("code")).lower(), str(core_type.get("name")).lower()):
            return str(core_type["code"])
    raise CliError(f"no core type {wanted_type} (list-info -c shows the codes)")


def input_candidates(positional: list[str], script: Path) -> list[tuple[Path, str]]:
    """The files packed into `input.zip`: the ones named after the flags, else the working directory's files (the
    Rescale CLI submits "a job in the current working directory"), leaving out hidden files and earlier results."""
    if positional:
        return [(path, path.name) for path in expand_files(positional)]
    root, found = Path.cwd(), []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        parts = relative.parts
        if any(p.startswith(".") for p in parts) or parts[0] == E2E_OUTPUT_DIR or parts[0].startswith("rescale_job_"):
            continue
        if path.is_file() and path.resolve() != script.resolve():
            found.append((path, relative.as_posix()))
    return found


def submit(ctx: Context, args: argparse.Namespace) -> int:
    script_path = Path(args.input_file)
    if not script_path.is_file():
        raise CliError(f"input script not found: {script_path}")
    text = script_path.read_text(encoding="utf-8", errors="replace")
    try:
        found = scripts.parse(text)
    except scripts.ScriptError as err:
        raise CliError(f"{script_path}: {err}") from None
    client, console = ctx.client(), ctx.console
    console.info("Executing Command.")
    for where in found.ignored:
        console.info(f"Ignoring {where}: not a directive this CLI knows")
    console.info("Parsing Input Files")
    inputs: list[dict[str, Any]] = []
    for file_id in found.existing_files:
        try:
            existing = client.files.get_file(file_id=file_id)
        except NotFound:
            raise CliError(f"#RESCALE_EXISTING_FILES: no file {file_id}") from None
        console.info(f"Including existing file {existing.get('name')} ({file_id})")
        inputs.append({"id": file_id, "decompress": True})
    if not found.existing_files:
        console.info("No existing files to include")
    analysis, version = find_analysis(ctx, found.analysis, found.version)
    console.info(f"Found Analysis: {analysis}")
    core_type = find_core_type(ctx, found.core_type)
    console.info("Zipping Files")
    with tempfile.TemporaryDirectory(prefix="rescale-cli-") as scratch:
        run_sh = Path(scratch) / "run.sh"
        run_sh.write_text(scripts.run_script(text), encoding="utf-8")
        to_upload = [run_sh]
        members = input_candidates(args.files, script_path)
        if members:
            archive = Path(scratch) / "input.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed:
                for path, arcname in members:
                    packed.write(path, arcname)
            to_upload.append(archive)
        console.info("Uploading Files")
        for path in to_upload:
            console.info(f"Uploading: {path.name}")
            inputs.append({"id": client.upload_file(path)["id"], "decompress": True})
    body = scripts.job_body(found, name=found.name or script_path.name, analysis=analysis, version=version,
                            core_type=core_type, input_files=inputs)
    console.info("Job: Saving Job")
    job_id = str(client.jobs.create_job(body=body)["id"])
    console.info(f"Job {job_id}: Saved")
    console.info(f"Job {job_id}: Submitting")
    client.jobs.submit_job(job_id=job_id)
    console.data(job_id)
    if not args.end_to_end:
        console.info(f"Job {job_id}: --end-to-end flag not set, polling should be done manually.")
        return 0
    final = follow(ctx, job_id)
    console.info(f"Job {job_id}: Finished...")
    dest = Path.cwd() / E2E_OUTPUT_DIR
    console.info(f"Job {job_id}: Downloading files to {dest}")
    download_outputs(ctx, job_id, dest, args.file_matcher, args.exclude, args.search)
    if final.get("status") != "Completed" or final.get("statusReason") != JOB_SUCCESS_REASON:
        reason = f" ({final.get('statusReason')})" if final.get("statusReason") else ""
        raise CliError(f"job {job_id} ended {final.get('status')}{reason}")
    return 0


def follow(ctx: Context, job_id: str) -> dict[str, Any]:
    """Poll until the job ends, telling each new status and the new lines of its log; returns the last status."""
    client, console, delay = ctx.client(), ctx.console, ctx.poll_seconds()
    console.info(f"Job {job_id}: Starting polling cycle")
    told, emitted = 0, 0
    while True:
        history = list(reversed(list(client.jobs.iter_job_statuses(job_id=job_id, page_size=100))))
        for status in history[told:]:
            console.info(f"Job {job_id}: Status - {status.get('status')}")
        told = max(told, len(history))
        current = dict(history[-1]) if history else {}
        if current.get("status") in JOB_TERMINAL:
            break
        if current.get("status") == "Executing":
            emitted += print_new_lines(ctx, live_lines(ctx, job_id), emitted)
        ctx.sleep(delay)
    if not any(status.get("status") == "Executing" for status in history):
        return current  # it never ran (no resources, stopped early): no log to wait for
    try:
        print_new_lines(ctx, saved_log_lines(client.jobs, client.files, job_id, LOG, sleep=ctx.sleep), emitted)
    except RescaleError as err:  # the log did not come: say so, the download still happens
        console.info(f"Job {job_id}: no {LOG} ({err})")
    return current


def live_lines(ctx: Context, job_id: str) -> list[str]:
    try:
        text = ctx.client().runs.tail_job_run_file(job_id=job_id, run_id="1", path=LOG)
    except NotFound:
        return []
    if not isinstance(text, str):
        return []
    lines = text.splitlines(keepends=True)
    return lines if text.endswith("\n") else lines[:-1]  # a line still being written waits


def print_new_lines(ctx: Context, lines: list[str], already: int) -> int:
    for line in lines[already:]:
        if not ctx.console.quiet:
            ctx.console.data(line.rstrip("\n"))
    return max(0, len(lines) - already)
