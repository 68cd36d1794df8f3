"""The seed notebook's upload (cell 41) and ranged download (cell 75), reproduced as written (from
/work/shared/seeds/002_33616e7ff7784c2a.txt) so the benchmark measures what users actually run. The one copy of
them: tests/test_seeds.py and tests/test_files.py import them from here (with `PerThreadRange`, at the end).

Everything below the imports is copied verbatim; do not "fix" it here, the point is to measure it as it is.
Quirks that matter for the numbers (kept on purpose):
- `requests.get` without `stream=True`: each thread holds its whole part in memory before writing it out.
- Part files are written and then concatenated in 4 KiB reads, and the result is re-read in 4 KiB reads for
  sha512; the notebook times all of it, so this benchmark does too.
- All threads mutate one shared `headers` dict (`headers["Range"] = ...`) before their request copies it.
- `concatenate_files` and the output file use paths relative to the current directory, whatever `dir_path` is.
- The last range ends at `decryptedSize + 1`; the server clamps it.
- The upload passes `files=` to requests, which builds the whole multipart body in memory (the file's bytes read
  whole, then copied into the body), and never closes the file it opens.
"""
# ruff: noqa
import requests

import hashlib
import os
import threading
from collections import namedtuple
from pathlib import Path

# -- cell 41 ---------------------------------------------------------------------------------------------------------
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


# -- cell 75 ---------------------------------------------------------------------------------------------------------
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


# -- not the notebook's: for tests that run its code (tests/test_seeds.py, tests/test_files.py) -----------------
class PerThreadRange(dict):
    """Headers for the notebook's `concurrent_download`. Its `_chunk_download` writes `headers["Range"]` into the one
    dict all its threads share, so a thread can send another thread's range (a race of the original, independent of
    the server). This dict keeps each thread's Range to itself, so the ported code stays verbatim and the test
    deterministic; everything else is a plain dict."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def __setitem__(self, key, value):
        if key == "Range":
            self._local.value = value
        else:
            super().__setitem__(key, value)

    def items(self):  # type: ignore[override]
        mine = getattr(self._local, "value", None)
        return list(super().items()) + ([("Range", mine)] if mine else [])
