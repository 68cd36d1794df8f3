"""`RescaleClient`: the generated operations (`client.jobs.create_job(...)`) plus the hand-written helpers:
waiters, transfers and log following."""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import requests

from .api import CatalogApi, ClustersApi, FilesApi, JobsApi, MetaApi, RunsApi, StorageApi, UsersApi
from .config import Settings, resolve
from .logs import follow_log
from .models import File
from .retry import RetryPolicy
from .session import DEFAULT_TIMEOUT, ApiSession, Timeout
from .transfers import (
    download_file,
    download_job_outputs,
    upload_directory,
    upload_file,
)
from .waiters import (
    JOB_TERMINAL,
    RunProgress,
    Verdict,
    WaitResult,
    cluster_verdict,
    job_verdict,
    wait,
    wait_for_runs,
)

PathLike = str | os.PathLike[str]
Sleep = Callable[[float], None]
OnStatus = Callable[[Mapping[str, Any]], None]


class RescaleClient:
    """A client of the Rescale REST API (v2 and v3).

    Configuration: `base_url` and `api_key`, else a `profile` of the Rescale CLI's apiconfig file, else
    `RESCALE_API_BASE_URL` / `RESCALE_API_KEY`, else the file's `[default]` profile (see `config`).
    `timeout` is (connect, read) seconds; `retries` replaces the one retry policy of every call, upload and
    download (`retry.RetryPolicy`, or an int: that many retries, 0 for none); `progress` shows transfer progress
    bars (None: only on a terminal); `sleep` is what waiters, log following and retries wait with (tests pass one
    that moves a fake clock).
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *, profile: str | None = None,
                 config_file: PathLike | None = None, timeout: Timeout = DEFAULT_TIMEOUT,
                 retries: RetryPolicy | int | None = None, progress: bool | None = None, sleep: Sleep = time.sleep,
                 http: requests.Session | None = None) -> None:
        self.settings: Settings = resolve(base_url, api_key, profile, config_file=config_file)
        self.progress = progress
        self.sleep = sleep
        self.session = ApiSession(self.settings.base_url, self.settings.api_key, timeout=timeout, retries=retries,
                                  http=http, sleep=sleep)
        self.meta = MetaApi(self.session)
        self.users = UsersApi(self.session)
        self.catalog = CatalogApi(self.session)
        self.files = FilesApi(self.session)
        self.jobs = JobsApi(self.session)
        self.runs = RunsApi(self.session)
        self.clusters = ClustersApi(self.session)
        self.storage = StorageApi(self.session)

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def __repr__(self) -> str:
        return f"RescaleClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # -- waiters: one loop (`waiters.poll`), told what to fetch and how to judge it ------------------------------
    def _wait(self, fetch: Callable[[], Iterable[Mapping[str, Any]]], verdict: Verdict, what: str, delay: float,
              timeout: float | None, on_status: OnStatus | None, sleep: Sleep | None,
              raise_on_failure: bool) -> WaitResult:
        return wait(fetch, verdict, what=what, delay=delay, timeout=timeout, on_status=on_status,
                    sleep=sleep or self.sleep, raise_on_failure=raise_on_failure)

    def wait_for_job(self, job_id: str, *, until: str | None = None, delay: float = 10.0,
                     timeout: float | None = 3600.0, on_status: OnStatus | None = None, sleep: Sleep | None = None,
                     raise_on_failure: bool = True) -> WaitResult:
        """Poll the job's statuses until it ends (or reaches `until`, e.g. "Executing"). Returns a `WaitResult`;
        a failure end raises `WaitFailed` (unless `raise_on_failure=False`), the timeout `WaiterTimeout`.
        `on_status(status)` is called once per new status, oldest first."""
        return self._wait(lambda: self.jobs.iter_job_statuses(job_id=job_id, page_size=100), job_verdict(until),
                          f"job {job_id}", delay, timeout, on_status, sleep, raise_on_failure)

    def wait_for_cluster(self, cluster_id: str, *, until: Literal["Started", "Stopped"] | str = "Started",
                         delay: float = 10.0, timeout: float | None = 3600.0, on_status: OnStatus | None = None,
                         sleep: Sleep | None = None, raise_on_failure: bool = True) -> WaitResult:
        """Poll a persistent (v3) cluster's statuses until it reaches `until` ("Started" or "Stopped")."""
        return self._wait(lambda: self.clusters.iter_cluster_statuses(cluster_id=cluster_id, page_size=100),
                          cluster_verdict(until), f"cluster {cluster_id}", delay, timeout, on_status, sleep,
                          raise_on_failure)

    def wait_for_job_cluster(self, job_id: str, *, until: Literal["Started", "Stopped"] | str = "Stopped",
                             delay: float = 10.0, timeout: float | None = 3600.0, on_status: OnStatus | None = None,
                             sleep: Sleep | None = None, raise_on_failure: bool = True) -> WaitResult:
        """Poll the cluster of a job until it reaches `until`: "Stopped" before deleting the job."""
        return self._wait(lambda: self.jobs.iter_job_cluster_statuses(job_id=job_id, page_size=100),
                          cluster_verdict(until), f"cluster of job {job_id}", delay, timeout, on_status, sleep,
                          raise_on_failure)

    def wait_for_storage_device(self, device_id: str, *, until: Literal["Started", "Stopped"] | str = "Started",
                                delay: float = 10.0, timeout: float | None = 3600.0,
                                on_status: OnStatus | None = None, sleep: Sleep | None = None,
                                raise_on_failure: bool = True) -> WaitResult:
        """Poll a high-performance storage device's statuses until it reaches `until`: "Started" before attaching
        jobs to it (a device lives as a persistent cluster does, and is judged alike)."""
        return self._wait(lambda: self.storage.iter_storage_device_statuses(device_id=device_id, page_size=100),
                          cluster_verdict(until), f"storage device {device_id}", delay, timeout, on_status, sleep,
                          raise_on_failure)

    def run_progress(self, job_id: str, *, page_size: int = 1000) -> RunProgress:
        """How many of the job's runs have started and completed (every page of `runs/`, `page_size` at a time)."""
        pages = list(self.runs.iter_job_runs(job_id=job_id, page_size=page_size).pages())
        return RunProgress.of(int(pages[0].get("count") or 0) if pages else 0,
                              (run for page in pages for run in page.get("results") or []))

    def wait_for_runs(self, job_id: str, completed: int, *, delay: float = 30.0, timeout: float | None = 3600.0,
                      page_size: int = 1000, on_progress: Callable[[RunProgress], None] | None = None,
                      sleep: Sleep | None = None) -> RunProgress:
        """Poll a job's runs (a DOE sweep's) until at least `completed` of them have completed, as Rescale's DOE
        example does before stopping the job. `WaitFailed` if the job ends short of it, `WaiterTimeout`."""
        def fetch() -> tuple[RunProgress, bool]:
            # The status first: runs read after it has ended are final (read before, a run that completes in
            # between would be missed and the wait would fail with the job's last run done).
            status = self.jobs.list_job_statuses(job_id=job_id, page_size=1)["results"]
            progress = self.run_progress(job_id, page_size=page_size)
            return progress, bool(status) and status[0]["status"] in JOB_TERMINAL

        return wait_for_runs(fetch, completed, what=f"runs of job {job_id}", delay=delay, timeout=timeout,
                             on_progress=on_progress, sleep=sleep or self.sleep)

    # -- transfers -------------------------------------------------------------------------------------------------
    def upload_file(self, path: PathLike, *, name: str | None = None, type_id: int | None = None,
                    attempts: int = 4) -> File:
        """Upload a file (streamed, retried without duplicates, see `transfers`); returns the stored `File`."""
        return upload_file(self.files, path, name=name, type_id=type_id, attempts=attempts, progress=self.progress,
                           sleep=self.sleep, retry=self.session.retry)

    def upload_directory(self, path: PathLike, *, format: Literal["zip", "tar.gz"] = "zip", name: str | None = None,
                         include_root: bool = True, attempts: int = 4) -> File:
        """Upload a directory as one zip or tar.gz archive (unpacked by Rescale when used as a job input)."""
        return upload_directory(self.files, path, fmt=format, name=name, include_root=include_root,
                                attempts=attempts, progress=self.progress, sleep=self.sleep,
                                retry=self.session.retry)

    def download_file(self, file_id: str, dest: PathLike, *, workers: int = 8, chunk_size: int | None = None,
                      attempts: int = 5, verify: bool = True, file: File | None = None) -> Path:
        """Download a file by concurrent ranges into `dest` (a path or a directory), resumable, sha512-checked
        (unless `verify=False`); ranges grow with the file unless `chunk_size` is given."""
        return download_file(self.files, file_id, dest, file=file, workers=workers, chunk_size=chunk_size,
                             attempts=attempts, verify=verify, progress=self.progress, sleep=self.sleep,
                             retry=self.session.retry)

    def download_job_outputs(self, job_id: str, dest_dir: PathLike, pattern: str = "*", *, workers: int = 8,
                             chunk_size: int | None = None, attempts: int = 5, verify: bool = True) -> list[Path]:
        """Download the job's output files matching the glob `pattern` into `dest_dir` (relative paths kept)."""
        return download_job_outputs(self.jobs, self.files, job_id, dest_dir, pattern, workers=workers,
                                    chunk_size=chunk_size, attempts=attempts, verify=verify,
                                    progress=self.progress, sleep=self.sleep, retry=self.session.retry)

    # -- logs ------------------------------------------------------------------------------------------------------
    def follow_log(self, job_id: str, *, run_id: str = "1", path: str = "process_output.log", delay: float = 5.0,
                   timeout: float | None = None, sleep: Sleep | None = None) -> Iterator[str]:
        """Yield the lines of the job's `process_output.log` while it runs, then the rest once it ended."""
        return follow_log(self.jobs, self.runs, self.files, job_id, run_id=run_id, path=path, delay=delay,
                          timeout=timeout, sleep=sleep or self.sleep)
