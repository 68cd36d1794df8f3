"""Seed 002 (rescale-labs/Api_UserAPI_Reference README.ipynb): the notebook's helper cells, verbatim but for
`time.sleep(interval)` -> `fake_sleep(interval)`, and its working directory. Shared by the seed tests, the SSH tests
and real runs (tests/test_seeds.py, test_ssh.py, test_execute.py, test_client_notebook.py).

`fake_sleep` moves the clock of the fake given to `clock_of(fake)` instead of waiting, so the notebook's pollers run
unchanged and nothing sleeps (a real run's test adds a short real `pause` per wait, for its supervisor thread)."""
from __future__ import annotations

import hashlib
import os
import threading
import time
import zipfile
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import requests

from rescale_mock.testing import Fake

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


# cell 41
def file_upload(api_url, headers, file_path):
    files = [
        (
            "file",
            (
                os.path.basename(file_path),
                open(file_path, "rb"),
                "application/octet-stream",
            ),
        )
    ]

    file_upload_res = requests.post(
        f"{api_url}/api/v2/files/contents/", headers=headers, files=files
    )
    file_upload_res.raise_for_status()

    return file_upload_res.json()["id"]


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


# cell 75
Chunk = namedtuple("Chunk", ["idx", "start_byte", "end_byte"])
FILE_IO_CHUNK_SIZE = 4096


def calculate_file_hash(file_path):
    hash_sha512 = hashlib.sha512()

    with open(file_path, "rb") as file:
        for chunk in iter(lambda: file.read(FILE_IO_CHUNK_SIZE), b""):
            hash_sha512.update(chunk)

    return hash_sha512.hexdigest()


def concatenate_files(output_file, *input_files, delete_inputs=True):
    with open(output_file, "wb") as output:
        for file_name in input_files:
            with open(file_name, "rb") as input_file:
                chunk = input_file.read(FILE_IO_CHUNK_SIZE)
                while chunk:
                    output.write(chunk)
                    chunk = input_file.read(FILE_IO_CHUNK_SIZE)
            if delete_inputs:
                os.remove(file_name)


def _chunk_download(api_url, headers, file_id, dir_path, file_chunk: Chunk):
    headers["Range"] = f"bytes={file_chunk.start_byte}-{file_chunk.end_byte}"
    response = requests.get(
        f"{api_url}/api/v2/files/{file_id}/contents", headers=headers
    )
    response.raise_for_status()

    with open(Path(dir_path, f"{file_id}.{file_chunk.idx}"), "wb") as fd:
        for chunk in response.iter_content(FILE_IO_CHUNK_SIZE):
            fd.write(chunk)


def concurrent_download(
    api_url,
    headers,
    file_id,
    dir_path=".",
    file_name=None,
    num_threads=10,
    threshold_mb=50,
):
    # get file size to determine whether splitting makes sense
    response = requests.get(f"{api_url}/api/v2/files/{file_id}/", headers=headers)
    response.raise_for_status()

    decrypted_size = response.json()["decryptedSize"]

    # Check if size is above threshold, if not download in one piece
    num_threads = num_threads if decrypted_size > threshold_mb * 1048576 else 1

    file_hash = response.json()["fileChecksums"][0]["fileHash"]
    file_name = file_name if file_name != None else response.json()["name"]

    chunk_size = int(decrypted_size / num_threads)
    threads = []
    for idx in range(0, num_threads):
        start_byte = idx * chunk_size

        # Make sure the last chunk fetches all remaining bytes
        end_byte = (
            (idx + 1) * chunk_size - 1 if idx != num_threads - 1 else decrypted_size + 1
        )

        t = threading.Thread(
            target=_chunk_download,
            args=(
                api_url,
                headers,
                file_id,
                dir_path,
                Chunk(idx, start_byte, end_byte),
            ),
        )
        t.start()
        threads.append(t)

    for t in threads:
        t.join()

    concatenate_files(
        file_name, *[f"{file_id}.{idx}" for idx in range(0, num_threads)]
    )

    # Compare file hashes to make sure downloaded file is not corrupted.
    filehash = calculate_file_hash(file_name)
    if filehash != file_hash:
        raise Exception("File hashes not equal. Corrupted file download.")


class PerThreadRange(dict):
    """Headers for the notebook's `concurrent_download`. Its `_chunk_download` writes `headers["Range"]` into the one
    dict all its threads share, so a thread can send another thread's range (a race of the original, independent of
    the server). This dict keeps each thread's Range to itself, so the ported code stays verbatim and the test
    deterministic; everything else is a plain dict."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "Range":
            self._local.value = value
        else:
            super().__setitem__(key, value)

    def items(self):  # type: ignore[override]
        mine = getattr(self._local, "value", None)
        return list(super().items()) + ([("Range", mine)] if mine else [])
