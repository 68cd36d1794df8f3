"""The verbs of `rescale-cli` but `submit` (in `submit`): each takes the `Context` and returns the exit status (errors raise `CliError`)."""
from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

from ..errors import NotFound
from ..models import File
from ..transfers import safe_relative
from ..waiters import JOB_TERMINAL
from .context import CliError, Context
from .output import epoch_ms, transfer_document

LOG = "process_output.log"


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
    if args.newer_than_job_id:  # -n REF: REF and every job created after it, each into rescale_job_<ID>/
        for job_id in jobs_since(ctx, args.newer_than_job_id):
            sync_job(ctx, args, job_id, Path(args.output or ".") / f"rescale_job_{job_id}")
        return 0
    if not args.job_id:
        raise CliError("sync needs -j JOB_ID (or -n JOB_ID)")
    job_or_fail(ctx, args.job_id)
    sync_job(ctx, args, args.job_id, Path(args.output or f"rescale_job_{args.job_id}"))
    return 0


def jobs_since(ctx: Context, reference: str) -> list[str]:
    """The ids of `reference` and of the jobs created after it, oldest first (the API lists newest first)."""
    newer: list[str] = []
    for job in ctx.client().jobs.iter_jobs(page_size=100):
        newer.append(str(job["id"]))
        if job["id"] == reference:
            return list(reversed(newer))
    raise CliError(f"job {reference} not found (or not visible with this API key)")


def sync_job(ctx: Context, args: argparse.Namespace, job_id: str, dest: Path) -> None:
    ctx.console.info(f"Job {job_id}: syncing output files to {dest}")
    download_outputs(ctx, job_id, dest, args.file_matcher, args.exclude, args.search)
    while args.sync_interval:  # -d: sync again every N seconds until the job has ended, then a last time
        ended = (current_status(ctx, job_id) or {}).get("status") in JOB_TERMINAL
        if not ended:
            ctx.sleep(args.sync_interval)
        download_outputs(ctx, job_id, dest, args.file_matcher, args.exclude, args.search)
        if ended:
            break


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
        name = safe_relative(str(meta["name"]))  # a name from the server never writes outside the directory
        target = Path(args.output) if args.output else name
        if target.is_dir() or (args.output or "").endswith(os.sep):
            target = target / name
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
