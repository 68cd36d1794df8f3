"""The S3 blob store's own behaviour, end to end over HTTP against moto's S3 server: an upload above boto3's
multipart threshold is one multipart object, ranges across its parts come back exact, deletes and resets remove
objects, staged uploads never stay behind, a served process moves 200 MB with bounded memory, and a bad `--blobs`
stops `serve` with one line. (tests/s3/test_*_s3.py run the existing end-to-end files against this store.)"""
from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from requests_toolbelt import MultipartEncoder
from rescale_mock import cli
from rescale_mock.backend import Backend
from rescale_mock.config import Config
from rescale_mock.store.s3blobs import TRANSFER
from rescale_mock.testing import Fake, ServedProcess

from ..s3_helpers import BUCKET, CREDENTIALS, s3_client, s3_options

pytestmark = pytest.mark.twins("s3", "s3-served")  # the blob store is moto's S3 server

MiB = 1 << 20
BIG = TRANSFER.multipart_threshold + 3 * MiB + 7  # crosses the threshold: a multipart upload of two parts


def prefix_of(fake: Fake) -> str:
    return "inprocess/" if fake.mode == "inprocess" else "served/"


def objects(endpoint: str, prefix: str) -> dict[str, dict[str, Any]]:
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: item for page in pages for item in page.get("Contents", [])}


def upload_file(base_url: str, api: requests.Session, path: Path, name: str = "big.bin") -> dict[str, Any]:
    with open(path, "rb") as fp:
        encoder = MultipartEncoder(fields={"file": (name, fp, "application/octet-stream")})
        response = api.post(f"{base_url}/api/v2/files/contents/", data=encoder,
                            headers={"Content-Type": encoder.content_type})
    assert response.status_code == 201, response.text
    return response.json()


def write_random(path: Path, size: int) -> str:
    """A file of `size` random bytes, written 1 MiB at a time; its sha512."""
    digest = hashlib.sha512()
    with open(path, "wb") as fh:
        for offset in range(0, size, MiB):
            block = os.urandom(min(MiB, size - offset))
            digest.update(block)
            fh.write(block)
    return digest.hexdigest()


def streamed_sha512(response: requests.Response) -> tuple[str, int]:
    digest, count = hashlib.sha512(), 0
    for chunk in response.iter_content(MiB):
        digest.update(chunk)
        count += len(chunk)
    return digest.hexdigest(), count


def test_a_big_upload_is_one_multipart_object_and_ranges_across_its_parts_are_exact(
        fake: Fake, api: requests.Session, s3_endpoint: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    digest = write_random(source, BIG)
    before = objects(s3_endpoint, prefix_of(fake))
    created = upload_file(fake.base_url, api, source)
    assert (created["decryptedSize"], created["fileChecksums"][0]["fileHash"]) == (BIG, digest)
    new = {k: v for k, v in objects(s3_endpoint, prefix_of(fake)).items() if k not in before}
    assert [item["Size"] for item in new.values()] == [BIG]
    assert re.fullmatch(r'"[0-9a-f]{32}-2"', next(iter(new.values()))["ETag"])  # S3's mark of a 2-part upload

    url = created["downloadUrl"]
    whole = api.get(url, stream=True)
    assert whole.status_code == 200 and whole.headers["Content-Length"] == str(BIG)
    assert streamed_sha512(whole) == (digest, BIG)

    data = source.read_bytes()
    boundary = TRANSFER.multipart_chunksize
    for header, start, stop in [(f"bytes={boundary - 5}-{boundary + 4}", boundary - 5, boundary + 5),  # across parts
                                ("bytes=-100", BIG - 100, BIG),  # suffix
                                (f"bytes={BIG - 3 * MiB}-", BIG - 3 * MiB, BIG),  # open-ended
                                (f"bytes=0-{BIG * 2}", 0, BIG)]:  # an end past the file is clamped
        response = api.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{BIG}"
        assert response.content == data[start:stop], header
    unsatisfiable = api.get(url, headers={"Range": f"bytes={BIG}-"})
    assert unsatisfiable.status_code == 416 and unsatisfiable.headers["Content-Range"] == f"bytes */{BIG}"

    assert api.delete(fake.url(f"/api/v2/files/{created['id']}/")).status_code == 204
    assert set(objects(s3_endpoint, prefix_of(fake))) == set(before)


def test_a_download_is_one_get_of_exactly_its_bytes(rescale_mock_s3: Fake, tmp_path: Path) -> None:
    fake, api = rescale_mock_s3, requests.Session()
    api.headers.update(rescale_mock_s3.headers)
    source = tmp_path / "big.bin"
    write_random(source, BIG)
    url = upload_file(fake.base_url, api, source)["downloadUrl"]
    ranges: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        ranges.append(params.get("Range"))

    events = fake.backend.blobs.client.meta.events
    events.register("provide-client-params.s3.GetObject", record)
    try:
        assert len(api.get(url, headers={"Range": "bytes=100-1500099"}).content) == 1_500_000
        assert len(api.get(url).content) == BIG
        api.head(url)
        assert api.get(url, headers={"If-None-Match": api.head(url).headers["ETag"]}).status_code == 304
    finally:
        events.unregister("provide-client-params.s3.GetObject", record)
    assert ranges == ["bytes=100-1500099", f"bytes=0-{BIG - 1}"]  # none for HEAD and 304


def test_a_non_ascii_name_downloads_with_both_file_names(fake: Fake, api: requests.Session) -> None:
    created = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("résumé ü.txt", b"x")}).json()
    disposition = api.get(created["downloadUrl"]).headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"resume u.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%C3%BC.txt"


def test_job_outputs_and_a_reset_live_in_the_bucket(fake: Fake, api: requests.Session, s3_endpoint: str) -> None:
    before = set(objects(s3_endpoint, prefix_of(fake)))
    api.post(fake.url("/api/v2/files/contents/"), files={"file": ("in.txt", b"input\n")})
    created = api.post(fake.url("/api/v2/jobs/"), json={"name": "s3", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
        "hardware": {"coreType": "emerald", "coresPerSlot": 1, "walltime": 1}}]}).json()
    assert api.post(fake.url(f"/api/v2/jobs/{created['id']}/submit/")).status_code == 200
    fake.control.advance(3 * 3600)
    files = api.get(fake.url(f"/api/v2/jobs/{created['id']}/files/")).json()["results"]
    log = next(f for f in files if f["name"] == "process_output.log")
    assert "Executing command: echo hi" in api.get(log["downloadUrl"]).text
    assert "Executing command: echo hi\n" in api.get(fake.url(f"/api/v2/files/{log['id']}/lines/")).json()["lines"]
    assert len(set(objects(s3_endpoint, prefix_of(fake))) - before) == 1 + len(files)  # the input and the outputs
    fake.control.reset()
    assert set(objects(s3_endpoint, prefix_of(fake))) == before


def test_staged_uploads_are_swept_only_by_the_process_owning_the_data_dir(
        s3_endpoint: str, tmp_path: Path) -> None:
    """A store's constructor leaves the staging folder alone (another worker may be uploading into it); the
    server holding the data dir's lock sweeps what a crash left there, once, at start."""
    from rescale_mock.store.blob_stores import open_blob_store

    location = f"s3://{BUCKET}/sweep"
    store = open_blob_store(location, tmp_path, s3_endpoint)
    in_flight = store.stage()
    in_flight.write(b"half an upload")
    open_blob_store(location, tmp_path, s3_endpoint)  # a second worker's store
    assert in_flight.path.exists()
    assert store.sweep_leftovers(older_than=3600) == 0 and in_flight.path.exists()  # not stale yet
    in_flight.close()
    served = ServedProcess(tmp_path, ("k" * 32,), *s3_options(s3_endpoint, "sweep"), env=CREDENTIALS)
    try:
        assert not in_flight.path.exists()
    finally:
        served.close()


def test_a_folder_outside_the_data_dir_holds_the_blobs(tmp_path: Path) -> None:
    """Other hosts may share such a folder: a server sweeps only staged uploads untouched for a day from it."""
    key, shared = "k" * 32, tmp_path / "shared"
    (shared / "tmp").mkdir(parents=True)
    stale, fresh = shared / "tmp" / "stale", shared / "tmp" / "fresh"
    stale.write_bytes(b"cut off yesterday")
    fresh.write_bytes(b"another host's upload in flight")
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    served = ServedProcess(tmp_path / "data", (key,), "--blobs", str(shared))
    try:
        assert not stale.exists() and fresh.exists()
        api = requests.Session()
        api.headers["Authorization"] = f"Token {key}"
        created = api.post(f"{served.base_url}/api/v2/files/contents/", files={"file": ("a.txt", b"abc")}).json()
        assert [p.read_bytes() for p in (shared / "blobs").iterdir()] == [b"abc"]
        assert api.get(created["downloadUrl"], headers={"Range": "bytes=1-"}).content == b"bc"
    finally:
        served.close()


@pytest.mark.parametrize("options, message", [
    (("--blobs", "s3://no-such-bucket/x"), "--blobs s3://no-such-bucket/x: the bucket cannot be used"),
    (("--blobs", "ftp://host/x"), "--blobs 'ftp://host/x': expected a folder or s3://bucket/prefix"),
    (("--blobs", "s3:///x"), "expected s3://bucket or s3://bucket/prefix"),
    (("--blobs", " "), "--blobs: empty"),
    (("--s3-region", "eu-west-1"), "--s3-endpoint-url and --s3-region are for --blobs s3://bucket/prefix only"),
])
def test_a_bad_blob_store_stops_serve_with_one_line(s3_endpoint: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], options: tuple[str, ...],
                                                     message: str) -> None:
    endpoint = ("--s3-endpoint-url", s3_endpoint) if options[0] == "--blobs" and "s3://" in options[1] else ()
    status = cli.main(["serve", "--port", "0", "--data-dir", str(tmp_path), *options, *endpoint])
    error = capsys.readouterr().err
    assert status == 2
    assert message in error and error.count("\n") == 1, error
    Backend(Config(data_dir=tmp_path)).close()  # the data dir was released: usable at once


# -- memory ------------------------------------------------------------------------------------------------------
TRANSFER_MB = int(os.environ.get("RESCALE_MOCK_S3_MEMORY_MB", "200"))


def peak_rss(pid: int) -> int:
    """The process's peak resident set (VmHWM, Linux), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)[1]) * 1024  # type: ignore[index]


@pytest.fixture
def memory_server(s3_endpoint: str, tmp_path: Path) -> Iterator[tuple[ServedProcess, requests.Session]]:
    key = "m" * 32
    served = ServedProcess(tmp_path / "data", (key,), *s3_options(s3_endpoint, "memory"), env=CREDENTIALS)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {key}"
    yield served, api
    served.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux)")
def test_200_mb_through_the_s3_store_keeps_the_servers_memory_bounded(
        memory_server: tuple[ServedProcess, requests.Session], tmp_path: Path) -> None:
    served, api = memory_server
    warm = tmp_path / "warm.bin"
    write_random(warm, BIG)  # a multipart upload and both kinds of download first: boto3's pools and threads
    created = upload_file(served.base_url, api, warm)
    streamed_sha512(api.get(created["downloadUrl"], stream=True))
    api.get(created["downloadUrl"], headers={"Range": "bytes=5-"}, stream=True).close()
    warm.unlink()
    baseline = peak_rss(served.process.pid)

    size = TRANSFER_MB * MiB
    source = tmp_path / "huge.bin"
    digest = write_random(source, size)
    started = time.monotonic()
    created = upload_file(served.base_url, api, source, "huge.bin")
    assert created["fileChecksums"][0]["fileHash"] == digest
    assert streamed_sha512(api.get(created["downloadUrl"], stream=True)) == (digest, size)
    half = api.get(created["downloadUrl"], headers={"Range": f"bytes={size // 4}-{size * 3 // 4 - 1}"}, stream=True)
    assert half.status_code == 206 and streamed_sha512(half)[1] == size // 2
    grown = peak_rss(served.process.pid) - baseline
    print(f"{TRANSFER_MB} MB up, down and half of it ranged in {time.monotonic() - started:.1f} s; "
          f"the server's peak RSS grew {grown / MiB:.1f} MiB")
    assert grown < size // 4, f"the server's peak RSS grew {grown / MiB:.1f} MiB moving {TRANSFER_MB} MB"
