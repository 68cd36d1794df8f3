"""Transfers over real HTTP, with the control plane's faults: streamed uploads retried without duplicates, ranged
concurrent downloads that survive dropped connections and resume after an interruption, always ending with the
right sha512; directories as zip or tar.gz; a job's outputs by glob; progress bars quiet off a terminal."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rescale_client import ChecksumMismatch, RescaleClient, TransferError
from rescale_client.retry import RetryPolicy
from rescale_client.transfers import MAX_CHUNK, MIN_CHUNK, auto_chunk_size, safe_relative
from rescale_mock.testing import Fake

MiB = 1024 * 1024
CONTENTS = "/api/v2/files/*/contents/"


def random_file(path: Path, size: int) -> str:
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.sha512(data).hexdigest()


def sha512(path: Path) -> str:
    return hashlib.sha512(path.read_bytes()).hexdigest()


def ranges(fake: Fake) -> list[str]:
    """The Range of every download request, oldest first (from the journal's query-less entries)."""
    return [e["path"] for e in reversed(fake.control.journal(method="GET", path=CONTENTS))]


def files_named(client: RescaleClient, name: str) -> list[dict[str, Any]]:
    return [dict(f) for f in client.files.iter_files(search=name) if f["name"] == name]


# -- upload and download --------------------------------------------------------------------------------------------
def test_round_trip_by_concurrent_ranges(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "data.bin", 3 * MiB + 123)
    stored = client.upload_file(tmp_path / "data.bin")
    assert (stored["name"], stored["decryptedSize"]) == ("data.bin", 3 * MiB + 123)
    assert stored["fileChecksums"][0]["fileHash"] == digest
    out = client.download_file(stored["id"], tmp_path / "out" / "copy.bin", workers=4, chunk_size=256 * 1024)
    assert out == tmp_path / "out" / "copy.bin" and sha512(out) == digest
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.bin"]  # no .part, no .part.json left
    assert len(ranges(fake)) == 13  # one request per 256 KiB range


def test_download_into_a_directory_and_an_empty_file(client: RescaleClient, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    stored = client.upload_file(tmp_path / "empty.txt", name="nothing.txt")
    (tmp_path / "d").mkdir()
    out = client.download_file(stored["id"], tmp_path / "d")
    assert out == tmp_path / "d" / "nothing.txt" and out.read_bytes() == b""


def test_dropped_connections_mid_download_still_end_with_the_right_sha512(client: RescaleClient, fake: Fake,
                                                                         tmp_path: Path) -> None:
    digest = random_file(tmp_path / "big.bin", 4 * MiB)
    stored = client.upload_file(tmp_path / "big.bin")
    fake.control.add_fault("drop", method="GET", path=CONTENTS, afterBytes=200_000, times=3)
    out = client.download_file(stored["id"], tmp_path / "copy.bin", workers=4, chunk_size=MiB)
    assert sha512(out) == digest
    journal = fake.control.journal(method="GET", path=CONTENTS)
    assert sum(1 for e in journal if e["fault"]) == 3
    assert len(journal) == 4 + 3  # each cut range was resumed by one more request


def test_throttled_and_unavailable_ranges_are_retried(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "t.bin", MiB)
    stored = client.upload_file(tmp_path / "t.bin")
    fake.control.add_fault("status", method="GET", path=CONTENTS, status=429, retryAfter=1, times=1)
    fake.control.add_fault("status", method="GET", path=CONTENTS, status=503, times=2)
    assert sha512(client.download_file(stored["id"], tmp_path / "copy.bin", chunk_size=256 * 1024)) == digest


def test_interrupted_download_resumes_where_it_stopped(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "r.bin", 3 * MiB)
    stored = client.upload_file(tmp_path / "r.bin")
    dest = tmp_path / "copy.bin"
    fake.control.add_fault("drop", method="GET", path=CONTENTS, afterBytes=300_000, times=1)
    with pytest.raises(TransferError):
        client.download_file(stored["id"], dest, workers=1, chunk_size=MiB, attempts=1)
    part, state_file = tmp_path / "copy.bin.part", tmp_path / "copy.bin.part.json"
    assert part.stat().st_size == 3 * MiB and not dest.exists()
    state = json.loads(state_file.read_text())
    kept = state["done"]["0"]
    assert 0 < kept <= 300_000 and state["etag"]
    fake.control.clear_faults()
    before = len(ranges(fake))
    assert sha512(client.download_file(stored["id"], dest, workers=1, chunk_size=MiB)) == digest
    resumed = fake.control.journal(method="GET", path=CONTENTS)[: len(ranges(fake)) - before]
    assert len(resumed) == 3  # the rest of range 0, then ranges 1 and 2: nothing fetched twice
    assert not part.exists() and not state_file.exists()


def test_resume_starts_over_when_the_file_changed(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "c.bin", 2 * MiB)
    stored = client.upload_file(tmp_path / "c.bin")
    dest = tmp_path / "copy.bin"
    fake.control.add_fault("drop", method="GET", path=CONTENTS, afterBytes=100_000, times=1)
    with pytest.raises(TransferError):
        client.download_file(stored["id"], dest, workers=1, chunk_size=MiB, attempts=1)
    state_file = tmp_path / "copy.bin.part.json"
    state = json.loads(state_file.read_text())
    state["etag"] = '"an-older-version"'  # If-Range no longer matches: the server sends the whole file (200)
    state_file.write_text(json.dumps(state))
    fake.control.clear_faults()
    assert sha512(client.download_file(stored["id"], dest, workers=2, chunk_size=MiB)) == digest


def test_checksum_mismatch_removes_the_partial_file(client: RescaleClient, tmp_path: Path) -> None:
    random_file(tmp_path / "m.bin", 100_000)
    stored = client.upload_file(tmp_path / "m.bin")
    lying = {**stored, "fileChecksums": [{"hashFunction": "sha512", "fileHash": "0" * 128}]}
    with pytest.raises(ChecksumMismatch):
        client.download_file(stored["id"], tmp_path / "copy.bin", file=lying)  # type: ignore[arg-type]
    assert list(tmp_path.glob("copy.bin*")) == []


def test_verify_false_skips_the_sha512_but_not_the_sizes(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "v.bin", 300_000)
    stored = client.upload_file(tmp_path / "v.bin")
    lying = {**stored, "fileChecksums": [{"hashFunction": "sha512", "fileHash": "0" * 128}]}
    out = client.download_file(stored["id"], tmp_path / "copy.bin", file=lying, verify=False)  # type: ignore[arg-type]
    assert sha512(out) == digest  # the bytes are right; the lying checksum was not consulted
    longer = {**stored, "decryptedSize": 300_001}  # a range the server cannot fill is still an error
    with pytest.raises(TransferError):
        client.download_file(stored["id"], tmp_path / "other.bin", file=longer, verify=False)  # type: ignore[arg-type]


def test_ranges_grow_with_the_file_by_default(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    assert auto_chunk_size(1, 8) == MIN_CHUNK and auto_chunk_size(100 * 2**30, 8) == MAX_CHUNK
    assert auto_chunk_size(2**30, 8) == 32 * MiB  # 1 GiB over 8 workers: 4 ranges each
    digest = random_file(tmp_path / "a.bin", MIN_CHUNK + 1)
    stored = client.upload_file(tmp_path / "a.bin")
    assert sha512(client.download_file(stored["id"], tmp_path / "copy.bin")) == digest
    assert len(ranges(fake)) == 2  # one full range of MIN_CHUNK bytes and the last byte


def test_upload_memory_stays_bounded(rescale_mock_served: Fake, tmp_path: Path) -> None:
    """A 24 MiB upload and ranged download (against a served process, so only the client is measured)."""
    fake = rescale_mock_served
    digest = random_file(tmp_path / "big.bin", 24 * MiB)
    with RescaleClient(fake.base_url, fake.api_key, progress=False) as client:
        tracemalloc.start()
        try:
            stored = client.upload_file(tmp_path / "big.bin")
            upload_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            out = client.download_file(stored["id"], tmp_path / "copy.bin", workers=4, chunk_size=2 * MiB)
            download_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert sha512(out) == digest
    assert upload_peak < 4 * MiB, upload_peak
    assert download_peak < 12 * MiB, download_peak


# -- uploads: application-level retries without duplicates ---------------------------------------------------------
def test_upload_dropped_after_the_server_stored_it_is_not_uploaded_twice(client: RescaleClient, fake: Fake,
                                                                        tmp_path: Path) -> None:
    digest = random_file(tmp_path / "once.bin", 2 * MiB)
    fake.control.add_fault("drop", method="POST", path="/api/v2/files/contents/", afterBytes=10, times=1)
    stored = client.upload_file(tmp_path / "once.bin")
    assert stored["fileChecksums"][0]["fileHash"] == digest
    assert [f["id"] for f in files_named(client, "once.bin")] == [stored["id"]]
    fake.control.assert_called("uploadFile", times=1)


def test_upload_after_503_and_429_is_retried(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    digest = random_file(tmp_path / "again.bin", MiB)
    fake.control.add_fault("status", method="POST", path="/api/v2/files/contents/", status=503, times=1)
    fake.control.add_fault("status", method="POST", path="/api/v2/files/contents/", status=429, retryAfter=1,
                           times=1)
    stored = client.upload_file(tmp_path / "again.bin", type_id=1)
    assert stored["fileChecksums"][0]["fileHash"] == digest
    assert [f["id"] for f in files_named(client, "again.bin")] == [stored["id"]]
    statuses = [e["status"] for e in reversed(fake.control.journal(method="POST", path="/api/v2/files/contents/"))]
    assert statuses == [503, 429, 201]


def test_transfers_wait_as_the_clients_one_retry_policy_says(fake: Fake, tmp_path: Path) -> None:
    """Uploads and ranged downloads take their waits from the client's policy (jitter, Retry-After), not their own."""
    random_file(tmp_path / "policy.bin", 1000)
    waits: list[float] = []
    policy = RetryPolicy(backoff=0.25, jitter=0.5, random=lambda: 1.0)
    with RescaleClient(fake.base_url, fake.api_key, progress=False, retries=policy, sleep=waits.append) as client:
        fake.control.add_fault("status", method="POST", path="/api/v2/files/contents/", status=503, times=1)
        fake.control.add_fault("status", method="POST", path="/api/v2/files/contents/", status=429, retryAfter=3,
                               times=1)
        stored = client.upload_file(tmp_path / "policy.bin")
        assert waits == [0.125, 3.0]  # 0.25 halved by the jitter; then the server's Retry-After
        waits.clear()
        fake.control.add_fault("drop", method="GET", path=CONTENTS, afterBytes=100, times=1)
        client.download_file(stored["id"], tmp_path / "back.bin")
        assert waits == [0.125]


def test_upload_gives_up_after_its_attempts(client: RescaleClient, fake: Fake, tmp_path: Path) -> None:
    random_file(tmp_path / "never.bin", 1000)
    fake.control.add_fault("status", method="POST", path="/api/v2/files/contents/", status=503)
    with pytest.raises(TransferError, match="after 2 attempts"):
        client.upload_file(tmp_path / "never.bin", attempts=2)
    assert files_named(client, "never.bin") == []


# -- directories and job outputs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_upload_directory(client: RescaleClient, tmp_path: Path, fmt: str) -> None:
    inputs = tmp_path / "job_inputs"
    (inputs / "sub").mkdir(parents=True)
    (inputs / "range.inp").write_text("100000\n")
    (inputs / "sub" / "calculate_pi.py").write_text("print(3.14)\n")
    stored = client.upload_directory(inputs, format=fmt)  # type: ignore[arg-type]
    assert stored["name"] == f"job_inputs.{fmt}"
    data = client.download_file(stored["id"], tmp_path / "archive").read_bytes()
    if fmt == "zip":
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
    assert names == ["job_inputs/range.inp", "job_inputs/sub/calculate_pi.py"]
    flat = client.upload_directory(inputs, name="flat.zip", include_root=False)
    flat_data = client.download_file(flat["id"], tmp_path / "flat.zip").read_bytes()
    assert zipfile.ZipFile(io.BytesIO(flat_data)).namelist() == ["range.inp", "sub/calculate_pi.py"]


def test_download_job_outputs_by_glob(client: RescaleClient, tmp_path: Path) -> None:
    job = client.jobs.create_job(body={"name": "outputs", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"},
        "command": "openssl rand -out result.bin 300000; openssl rand -out notes.dat 5000",
        "hardware": {"coreType": "granite", "coresPerSlot": 2}}]})
    client.jobs.submit_job(job_id=job["id"])
    client.wait_for_job(job["id"])
    only_bin = client.download_job_outputs(job["id"], tmp_path / "bin", "*.bin", chunk_size=64 * 1024)
    assert [p.relative_to(tmp_path / "bin").as_posix() for p in only_bin] == ["result.bin"]
    assert only_bin[0].stat().st_size == 300000
    everything = client.download_job_outputs(job["id"], tmp_path / "all")
    assert sorted(p.name for p in everything) == ["notes.dat", "process_output.log", "result.bin"]
    by_name = {f["relativePath"]: f for f in client.jobs.iter_job_files(job_id=job["id"])}
    for path in everything:
        assert sha512(path) == by_name[path.name]["fileChecksums"][0]["fileHash"]


def test_paths_from_the_server_stay_inside_the_destination() -> None:
    assert safe_relative("run1/out/a.txt") == Path("run1", "out", "a.txt")
    for bad in ("../etc/passwd", "/etc/passwd", "a/../../b", "C:\\x"):
        with pytest.raises(TransferError):
            safe_relative(bad)


# -- progress -------------------------------------------------------------------------------------------------------
def test_progress_is_quiet_off_a_terminal_and_shown_on_request(fake: Fake, tmp_path: Path,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    random_file(tmp_path / "p.bin", 512 * 1024)
    with RescaleClient(fake.base_url, fake.api_key) as quiet:  # progress=None: only on a terminal
        stored = quiet.upload_file(tmp_path / "p.bin")
        quiet.download_file(stored["id"], tmp_path / "q.bin")
    assert capfd.readouterr().err == ""
    with RescaleClient(fake.base_url, fake.api_key, progress=True) as loud:
        loud.download_file(stored["id"], tmp_path / "l.bin")
    assert "p.bin" in capfd.readouterr().err
