"""Seed 002 (rescale-labs/Api_UserAPI_Reference README.ipynb): the notebook's helper cells, verbatim but for
`time.sleep(interval)` -> `fake_sleep(interval)`, and its working directory. Shared by the seed tests, the SSH tests
and real runs (tests/test_seeds.py, test_ssh.py, test_execute.py, test_client_notebook.py).

`fake_sleep` moves the clock of the fake given to `clock_of(fake)` instead of waiting, so the notebook's pollers run
unchanged and nothing sleeps (a real run's test adds a short real `pause` per wait, for its supervisor thread)."""
from __future__ import annotations

import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import requests

from rescale_mock.testing import Fake

from bench.notebook_transfer import (PerThreadRange, calculate_file_hash, concatenate_files,  # noqa: F401
                                     concurrent_download, file_upload)

# -- the fake's stand-in for time.sleep --------------------------------------------------------------------------
_CLOCK: dict[str, Any] = {}


def fake_sleep(seconds: float) -> None:
    """Replaces `time.sleep(seconds)`: the tenant's clock moves `seconds` forward instead of the test waiting."""
    assert _CLOCK, "fake_sleep outside `with clock_of(fake)`"
    _CLOCK["calls"] += 1
    assert _CLOCK["calls"] < 500, "polled 500 times without reaching the awaited status"
    _CLOCK["fake"].control.advance(seconds)
    if _CLOCK["pause"]:
        time.sleep(_CLOCK["pause"])


@contextmanager
def clock_of(fake: Fake, pause: float = 0.0) -> Iterator[None]:
    """Inside: `fake_sleep` moves `fake`'s clock (and sleeps `pause` real seconds per call)."""
    _CLOCK.update(fake=fake, calls=0, pause=pause)
    try:
        yield
    finally:
        _CLOCK.clear()


# -- the notebook's working directory ----------------------------------------------------------------------------
CALCULATE_PI = '''import sys

with open(sys.argv[1]) as f:
    n = int(f.read())
pi = 4 * sum((-1) ** k / (2 * k + 1) for k in range(n))
with open("pi_estimate.res", "w") as f:
    f.write(f"{pi}\\n")
print(pi)
'''


def write_job_inputs(folder: Path) -> Path:
    """The notebook's `job_inputs/` (calculate_pi.py and its range.inp) in `folder`; the new folder."""
    inputs = folder / "job_inputs"
    inputs.mkdir()
    (inputs / "calculate_pi.py").write_text(CALCULATE_PI)
    (inputs / "range.inp").write_text("100000\n")
    return inputs


# -- the notebook's helper cells -----------------------------------------------------------------------------------
# cell 12
def get_all_result_pages(url, headers={}, params={}):
    results = []

    res = requests.get(url, headers=headers, params=params)
    res.raise_for_status()

    results.extend(res.json()["results"])

    while res.json()["next"] != None:
        res = requests.get(res.json()["next"], headers=headers)
        res.raise_for_status()
        results.extend(res.json()["results"])

    return results


# cell 34
def poll_for_job_status(
    api_url, headers, job_id, poll_status, interval=30, verbose=False
):
    import time

    while True:
        job_statuses = get_all_result_pages(
            f"{api_url}/api/v2/jobs/{job_id}/statuses/", headers=headers
        )
        if verbose:
            sorted_statuses = sorted(
                job_statuses,
                key=lambda s: datetime.fromisoformat(s["statusDate"]),
            )
            print(" > ".join([s["status"] for s in sorted_statuses]))

        status_items = [s for s in sorted_statuses if s["status"] == poll_status]
        if len(status_items) > 0:
            return status_items[0]

        fake_sleep(interval)  # was: time.sleep(interval)


# cell 41: file_upload, and cell 75 (the ranged download), live once in bench/notebook_transfer.py


# cell 46
class JobStatus(Enum):
    PENDING = "Pending"
    QUEUED = "Queued"
    STARTED = "Started"
    VALIDATED = "Validated"
    EXECUTING = "Executing"
    COMPLETED = "Completed"
    STOPPING = "Stopping"
    WAITING_FOR_CLUSTER = "Waiting for Cluster"
    FORCE_STOP = "Force Stop"
    WAITING_FOR_QUEUE = "Waiting for Queue"


class ClusterStatus(Enum):
    NOT_STARTED = "Not Started"
    PENDING = "Pending"
    QUEUED = "Queued"
    STARTING = "Starting"
    STARTED = "Started"
    STOP_REQUESTED = "Stop Requested"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    UNKNOWN = "Unknown"
    ERROR = "Error"


def poll_for_status(api_url, headers, job_id, status, interval=30, verbose=False):
    import time
    from datetime import datetime

    while True:
        if type(status) == type(JobStatus.COMPLETED):
            statuses = get_all_result_pages(
                f"{api_url}/api/v2/jobs/{job_id}/statuses/", headers=headers
            )
        elif type(status) == type(ClusterStatus.STARTED):
            statuses = get_all_result_pages(
                f"{api_url}/api/v2/jobs/{job_id}/cluster_statuses/", headers=headers
            )
        else:
            raise Exception("Unknown Status Type.")

        if verbose:
            sorted_statuses = sorted(
                statuses,
                # Currently dates are returned with inconsistent formatting
                key=lambda s: datetime.fromisoformat(s["statusDate"])
                if type(status) == type(JobStatus.COMPLETED)
                else datetime.fromisoformat(s["statusDate"].replace("Z", "+00:00")),
            )
            print(" > ".join([s["status"] for s in sorted_statuses]))

        status_items = [s for s in sorted_statuses if s["status"] == status.value]
        if len(status_items) > 0:
            return status_items[0]

        fake_sleep(interval)  # was: time.sleep(interval)


# cell 51
def download_file(api_url, headers, file_id, out_dir, file_name):
    response = requests.get(
        f"{api_url}/api/v2/files/{file_id}/contents/", headers=headers
    )

    chunk_size = 4096
    with open(Path(out_dir, file_name), "wb") as fd:
        for chunk in response.iter_content(chunk_size):
            fd.write(chunk)


# cell 71
def create_zip(dir_path, zip_path):
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zipf:
        for root, _, files in os.walk(dir_path):
            for file in files:
                file_path = os.path.join(root, file)
                rel_path = os.path.relpath(file_path, dir_path)
                zipf.write(file_path, rel_path)


def get_process_output_lines(api_url, headers, job_id):
    output_files = get_all_result_pages(
        f"{api_url}/api/v2/jobs/{job_id}/files/",
        headers=headers,
        params={"search": "process_output.log"},
    )
    file_id = output_files[0]["id"]

    file_contents_response = requests.get(
        f"{api_url}/api/v2/files/{file_id}/lines", headers=headers
    )
    file_contents_response.raise_for_status()

    return file_contents_response.json()["lines"]
