"""Follow a job's `process_output.log`: live from the run's tail while it runs, then from the saved output file.

Each line is yielded once, with its newline, in order: while the job runs only complete lines are given (a line
still being written waits for the next poll); when the job has ended, the rest comes from the output file (the
lines endpoint), so the last lines (the exit status) are never lost. On a job that already ended, the whole saved
log is yielded at once.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from .api.files import FilesApi
from .api.jobs import JobsApi
from .api.runs import RunsApi
from .errors import NotFound, RescaleError, WaiterTimeout
from .waiters import JOB_TERMINAL

LOG_NAME = "process_output.log"


def current_status(jobs: JobsApi, job_id: str) -> str | None:
    """The job's newest status (statuses are newest first), None before the job was submitted."""
    page = jobs.list_job_statuses(job_id=job_id, page_size=1)
    results = page.get("results") or []
    return str(results[0].get("status")) if results else None


def follow_log(jobs: JobsApi, runs: RunsApi, files: FilesApi, job_id: str, *, run_id: str = "1",
               path: str = LOG_NAME, delay: float = 5.0, timeout: float | None = None,
               sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
               final_attempts: int = 5) -> Iterator[str]:
    """Yield the lines of the job's log as they appear, until the job has ended and its log is saved."""
    emitted, started, slept = 0, clock(), 0.0
    while current_status(jobs, job_id) not in JOB_TERMINAL:
        try:
            text = runs.tail_job_run_file(job_id=job_id, run_id=run_id, path=path)
        except NotFound:  # not running yet, or finishing
            text = None
        if isinstance(text, str):
            lines = text.splitlines(keepends=True)
            complete = lines if text.endswith("\n") else lines[:-1]
            yield from complete[emitted:]
            emitted = max(emitted, len(complete))
        elapsed = max(clock() - started, slept)
        if timeout is not None and elapsed >= timeout:
            raise WaiterTimeout(f"job {job_id} still running after {elapsed:.0f} s while following {path}")
        sleep(delay)
        slept += delay
    yield from saved_log_lines(jobs, files, job_id, path, final_attempts, delay, sleep)[emitted:]


def saved_log_lines(jobs: JobsApi, files: FilesApi, job_id: str, path: str = LOG_NAME, attempts: int = 5,
                    delay: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """The lines of a finished job's output file `path` (each keeping its newline); waits a little for the
    outputs to be listed, as they are synced at the end of the job."""
    name = path.rsplit("/", 1)[-1]
    for attempt in range(1, attempts + 1):
        for output in jobs.iter_job_files(job_id=job_id, search=name, page_size=100):
            if output.get("relativePath") == path or (output.get("name") == name and "/" not in path):
                return list(files.get_file_lines(file_id=str(output["id"])).get("lines") or [])
        if attempt < attempts:
            sleep(delay)
    raise RescaleError(f"{path} of job {job_id} is not among its output files")
