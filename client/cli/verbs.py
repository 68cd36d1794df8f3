"""The verbs of `rescale-cli`: each takes the `Context` and returns the exit status (errors raise `CliError`)."""
from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from ..errors import NotFound, RescaleError
from ..logs import saved_log_lines
from ..models import File
from ..transfers import safe_relative
from ..waiters import JOB_SUCCESS_REASON, JOB_TERMINAL
from . import script as scripts
from .context import CliError, Context
from .output import epoch_ms, transfer_document

LOG = "process_output.log"
E2E_OUTPUT_DIR = "output"  # where `submit -E` puts the results (the Rescale CLI's hands-on shows `output/`)


# -- shared --------------------------------------------------------------------------------------------------------
def expand_files(patterns: Iterable[str]) -> list[Path]:
    """Files named or matched by globs (a shell that did not expand them leaves them to us); each must be a file."""
    paths: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise CliError(f"no file matches {pattern}")
        for match in matches:
            path = Path(match)
            if path.is_dir():
                raise CliError(f"'{match}' is a directory, not a file")
            if not path.is_file():
                raise CliError(f"file not found: {match}")
            paths.append(path)
    return paths


def job_or_fail(ctx: Context, job_id: str) -> dict[str, Any]:
    try:
        return dict(ctx.client().jobs.get_job(job_id=job_id))
    except NotFound:
        raise CliError(f"job {job_id} not found (or not visible with this API key)") from None


def current_status(ctx: Context, job_id: str) -> dict[str, Any] | None:
    page = ctx.client().jobs.list_job_statuses(job_id=job_id, page_size=1)
    results = page.get("results") or []
    return dict(results[0]) if results else None


def wanted(name: str, matchers: list[str] | None, exclude: str | None, search: str | None) -> bool:
    """The CLI's output filters: `-f` globs on the file name only, `--exclude` and `-s` substrings."""
    if matchers and not any(fnmatch.fnmatchcase(name, pattern) for pattern in matchers):
        return False
    if exclude and exclude.lower() in name.lower():
        return False
    return not (search and search.lower() not in name.lower())


def download_outputs(ctx: Context, job_id: str, dest: Path, matchers: list[str] | None = None,
                     exclude: str | None = None, search: str | None = None) -> int:
    """Download the job's outputs that pass the filters into `dest`, keeping their relative paths; a file already
    there with the right size is skipped (so a repeated sync only fetches what is new)."""
    client, count = ctx.client(), 0
    for output in client.jobs.iter_job_files(job_id=job_id, page_size=1000):
        name = str(output.get("name") or "")
        if not wanted(name, matchers, exclude, search):
            continue
        target = dest / safe_relative(str(output.get("relativePath") or name))
        if target.is_file() and target.stat().st_size == output.get("decryptedSize"):
            ctx.console.info(f"Skipping existing: {target}")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        ctx.console.info(f"Downloading {target}")
        client.download_file(str(output["id"]), target, file=output)
        count += 1
    ctx.console.info(f"Finished downloading files. ({count} downloaded)")
    return count


# -- upload --------------------------------------------------------------------------------------------------------
def upload(ctx: Context, args: argparse.Namespace) -> int:
    if args.directory_id:
        raise CliError("-d (--directory-id) is not supported by this CLI: upload to My Library")
    paths = expand_files(args.files)
    started, uploaded = epoch_ms(), []
    try:
        client = ctx.client()
        for path in paths:
            ctx.console.info(f"Uploading: {path}")
            uploaded.append(dict(client.upload_file(path)))
            if not args.extended_output:
                ctx.console.data(f"File ID {uploaded[-1]['id']}")
    except Exception:
        if args.extended_output:
            ctx.console.json(transfer_document(started, epoch_ms(), [], success=False))
        raise
    if args.extended_output:
        ctx.console.json(transfer_document(started, epoch_ms(), uploaded))
    return 0


# -- submit --------------------------------------------------------------------------------------------------------
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


# -- status, stop, delete ------------------------------------------------------------------------------------------
def status(ctx: Context, args: argparse.Namespace) -> int:
    job_or_fail(ctx, args.job_id)
    latest = current_status(ctx, args.job_id)
    if latest is None:
        raise CliError(f"no status found for job {args.job_id}")
    if args.extended_output:
        ctx.console.json({"lastStatus": {"status": latest.get("status"), "statusDate": latest.get("statusDate"),
                                         "statusReason": latest.get("statusReason"), "notify": False,
                                         "preventDuplicates": False}})
    else:
        ctx.console.data(f"The status of job {args.job_id} is {latest.get('status')}")
    return 0


def stop(ctx: Context, args: argparse.Namespace) -> int:
    job_or_fail(ctx, args.job_id)
    ctx.client().jobs.stop_job(job_id=args.job_id)
    ctx.console.info(f"Job {args.job_id}: stop requested")
    return 0


def delete(ctx: Context, args: argparse.Namespace) -> int:
    job_or_fail(ctx, args.job_id)
    ctx.client().jobs.delete_job(job_id=args.job_id)
    ctx.console.info(f"Job {args.job_id}: deleted")
    return 0


# -- sync, download-file -------------------------------------------------------------------------------------------
def sync(ctx: Context, args: argparse.Namespace) -> int:
    if args.newer_than_job_id:
        raise CliError("sync -n (newer than a job) is not supported by this CLI; sync each job with -j")
    if not args.job_id:
        raise CliError("sync needs -j JOB_ID")
    job_or_fail(ctx, args.job_id)
    dest = Path(args.output or f"rescale_job_{args.job_id}")
    ctx.console.info(f"Job {args.job_id}: syncing output files to {dest}")
    download_outputs(ctx, args.job_id, dest, args.file_matcher, args.exclude, args.search)
    while args.sync_interval:  # -d: sync again every N seconds until the job has ended, then a last time
        ended = (current_status(ctx, args.job_id) or {}).get("status") in JOB_TERMINAL
        if not ended:
            ctx.sleep(args.sync_interval)
        download_outputs(ctx, args.job_id, dest, args.file_matcher, args.exclude, args.search)
        if ended:
            break
    return 0


def outputs_of(ctx: Context, job_id: str, run_id: str | None) -> Iterator[Any]:
    client = ctx.client()
    if run_id:
        return iter(client.runs.iter_job_run_files(job_id=job_id, run_id=run_id, page_size=1000))
    return iter(client.jobs.iter_job_files(job_id=job_id, page_size=1000))


def download_file(ctx: Context, args: argparse.Namespace) -> int:
    if bool(args.job_id) == bool(args.file_id):
        raise CliError("download-file needs either -j JOB_ID -f FILE_NAME or --file-id FILE_ID")
    client = ctx.client()
    if args.file_id:
        try:
            meta = dict(client.files.get_file(file_id=args.file_id))
        except NotFound:
            raise CliError(f"file {args.file_id} not found") from None
        if args.extended_output:
            started = epoch_ms()
            ctx.console.json(transfer_document(started, epoch_ms(), [meta]))
            return 0
        files = [meta]
    else:
        job_or_fail(ctx, args.job_id)
        if not args.file_name:
            ctx.console.info("Please provide a file name to download")
            return 0
        files = [dict(f) for f in outputs_of(ctx, args.job_id, args.run_id) if f.get("name") == args.file_name]
        if not files:
            raise CliError(f"no file named {args.file_name} among the outputs of job {args.job_id}")
    for meta in files:
        target = Path(args.output) if args.output else Path(str(meta["name"]))
        if target.is_dir() or (args.output or "").endswith(os.sep):
            target = target / str(meta["name"])
        target.parent.mkdir(parents=True, exist_ok=True)
        ctx.console.info(f"Downloading {meta['name']} to {target}")
        client.download_file(str(meta["id"]), target, file=cast(File, meta))
    return 0


# -- list-info -----------------------------------------------------------------------------------------------------
def list_info(ctx: Context, args: argparse.Namespace) -> int:
    if args.core_types == args.analyses:
        raise CliError("list-info needs one of -c (--core-types) or -a (--analyses)")
    catalog = ctx.client().catalog
    items = catalog.iter_core_types(page_size=100) if args.core_types else catalog.iter_analyses(page_size=100)
    for item in items:  # one pretty JSON object per item: `| jq -c '{code: .code}'` reads them as a stream
        ctx.console.data(json.dumps(item, indent=2, ensure_ascii=False))
    return 0
