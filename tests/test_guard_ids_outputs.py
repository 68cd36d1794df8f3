"""Issue 11, items 5-7: ids never collide and seeds are scoped to the caller's tenant; a finished job's outputs are
written all or none (a crash halfway never lists a file twice); simulated outputs are bounded at create and written
claimed for that job only."""
from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from rescale_mock.app import create_app
from rescale_mock.config import Config
from rescale_mock.testing import Control, Fake, ServedProcess

COMPLETED_AT = 80.0  # a 10-second command completes 70 s after submit; a little margin
ONE_TB = 1_000_000_000_000


def job_body(command: str) -> dict[str, Any]:
    return {"name": "guard", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": command,
        "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}


def create_job(base_url: str, key: str, command: str = "echo hi") -> requests.Response:
    return requests.post(f"{base_url}/api/v2/jobs/", json=job_body(command), headers=auth(key), timeout=30)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def run_job(base_url: str, key: str, command: str) -> str:
    response = create_job(base_url, key, command)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    assert requests.post(f"{base_url}/api/v2/jobs/{job_id}/submit/", headers=auth(key), timeout=30).status_code == 200
    return job_id


def output_names(base_url: str, key: str, job_id: str) -> list[str]:
    response = requests.get(f"{base_url}/api/v2/jobs/{job_id}/files/", params={"page_size": 100}, headers=auth(key),
                            timeout=60)
    assert response.status_code == 200, response.text
    return sorted(f["name"] for f in response.json()["results"])


# -- item 5: ids ---------------------------------------------------------------------------------------------------
def test_two_tenants_seeded_alike_get_distinct_ids(fake: Fake, other: Fake) -> None:
    """Before: a tenant's seed reseeded the whole server, the second tenant drew the first one's ids, and the
    insert failed with a 500 `UNIQUE constraint failed`."""
    fake.control.seed(42)
    first_files = [fake.upload("a.txt", b"x")["id"] for _ in range(3)]
    first_job = create_job(fake.base_url, fake.api_key).json()["id"]
    other.control.seed(42)
    second_files = [other.upload("a.txt", b"x")["id"] for _ in range(3)]
    job = create_job(other.base_url, other.api_key)
    assert job.status_code == 201, job.text
    assert len(set(first_files + second_files)) == 6  # ids are unique per kind (files, jobs, clusters, tenants)
    assert job.json()["id"] != first_job
    first, second = first_files + [first_job], second_files + [job.json()["id"]]
    assert all(4 <= len(i) <= 6 and i.isalpha() for i in first + second)  # still Rescale-looking


def test_a_tenant_seed_repeats_that_tenant_ids_only(fake: Fake, other: Fake) -> None:
    fake.control.seed(7)
    first = fake.upload("a.txt", b"x")["id"]
    fake.control.reset()
    fake.control.seed(7)
    assert fake.upload("a.txt", b"x")["id"] == first
    other.control.seed(8)  # another tenant's seed does not move this tenant's ids
    fake.control.reset()
    fake.control.seed(7)
    assert fake.upload("a.txt", b"x")["id"] == first


def test_an_id_already_taken_is_drawn_again() -> None:
    from rescale_mock.domain.ids import IdFactory

    factory = IdFactory(1)
    taken = {IdFactory(1).new()}  # the first id seed 1 draws
    assert factory.fresh(lambda candidate: candidate in taken) not in taken


# -- item 6: outputs written all or none ---------------------------------------------------------------------------
def test_a_write_cut_halfway_leaves_no_output_and_the_next_read_writes_each_once(
        fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    if fake.backend is None:
        pytest.skip("breaks the blob store of the in-process server; the served twin is below")
    job_id = run_job(fake.base_url, fake.api_key, "openssl rand -out a.bin 1000; openssl rand -out b.bin 10")
    fake.control.advance(COMPLETED_AT)
    blobs = fake.backend.files.blobs
    real_stage, calls = blobs.stage, []
    stored_before = set(blobs.root.iterdir())

    def dies_on_the_third_file() -> Any:
        calls.append(1)
        if len(calls) == 3:  # process_output.log and a.bin are written by now
            raise OSError("simulated crash while writing outputs")
        return real_stage()

    monkeypatch.setattr(blobs, "stage", dies_on_the_third_file)
    response = requests.get(fake.url(f"/api/v2/jobs/{job_id}/files/"), headers=fake.headers, timeout=30)
    assert response.status_code == 500
    assert set(blobs.root.iterdir()) == stored_before and list(blobs.tmp.iterdir()) == []  # nothing left behind
    monkeypatch.setattr(blobs, "stage", real_stage)
    assert output_names(fake.base_url, fake.api_key, job_id) == ["a.bin", "b.bin", "process_output.log"]


def test_kill_9_while_outputs_are_written_lists_each_output_once(tmp_path: Path) -> None:
    """The issue's reproduction: `kill -9` while a finished job's big output is written, then restart."""
    data = tmp_path / "data"
    key = "guard-key-0123456789"
    server = ServedProcess(data, (key,), "--clock-mode", "manual")
    try:
        job_id = run_job(server.base_url, key, "echo hi; openssl rand -out big.bin 200000000")
        Control(server.base_url, key).advance(COMPLETED_AT)
        reader = threading.Thread(target=_read_quietly, args=(server.base_url, key, job_id), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 0 for p in (data / "tmp").iterdir()):  # the big output is being written
            assert time.monotonic() < deadline, "the output write never started"
            time.sleep(0.002)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        assert "outputsWritten" not in _job_state(data, job_id)  # killed halfway indeed
    finally:
        server.close()
    restarted = ServedProcess(data, (key,), "--clock-mode", "manual")
    try:
        assert output_names(restarted.base_url, key, job_id) == ["big.bin", "process_output.log"]
    finally:
        restarted.close()


def _read_quietly(base_url: str, key: str, job_id: str) -> None:
    try:
        requests.get(f"{base_url}/api/v2/jobs/{job_id}/files/", headers=auth(key), timeout=60)
    except requests.RequestException:
        pass  # the server was killed under it


def _job_state(data: Path, job_id: str) -> str:
    import sqlite3

    with sqlite3.connect(data / "rescale-mock.sqlite3") as conn:
        return conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


# -- item 7: output size bounded, no lock shared between tenants ---------------------------------------------------
def test_a_terabyte_of_simulated_output_is_refused_at_create(fake: Fake) -> None:
    response = create_job(fake.base_url, fake.api_key, f"openssl rand -out f {ONE_TB}")
    assert response.status_code == 400
    (error,) = response.json()["jobanalyses"]
    assert "exceed this server's limit" in error["command"][0]


def test_patching_in_a_too_big_output_is_refused(fake: Fake) -> None:
    job_id = create_job(fake.base_url, fake.api_key).json()["id"]
    changed = dict(job_body(f"openssl rand -out f -base64 {ONE_TB}"))
    response = requests.patch(fake.url(f"/api/v2/jobs/{job_id}/"), json=changed, headers=fake.headers, timeout=30)
    assert response.status_code == 400, response.text
    assert "exceed" in response.json()["jobanalyses"][0]["command"][0]


@pytest.mark.parametrize(("command", "accepted"), [
    ("openssl rand -out f 1000", True), ("openssl rand -out f 1001", False),
    ("openssl rand -out f 500; openssl rand -out g 500", True), ("openssl rand -out f -hex 501", False),
    ("openssl rand -out f -base64 720", True),  # 960 characters plus 13 newlines
    ("openssl rand -out f -base64 750", False),
])
def test_the_limit_is_configurable_and_counts_bytes_as_written(command: str, accepted: bool) -> None:
    app = create_app(Config(api_keys=("limit-key-000",), max_output_bytes=1000))
    try:
        response = app.test_client().post("/api/v2/jobs/", json=job_body(command), headers=auth("limit-key-000"))
        assert response.status_code == (201 if accepted else 400), response.get_json()
    finally:
        app.extensions["rescale_mock"].close()


def test_writing_one_tenant_outputs_does_not_hold_up_another_tenant(
        fake: Fake, other: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: one lock for all tenants; a 1 GB output made another tenant's `stop` wait 8 s."""
    if fake.backend is None:
        pytest.skip("holds a write open through the in-process blob store")
    slow_job = run_job(fake.base_url, fake.api_key, "openssl rand -out big.bin 1000")
    running = run_job(other.base_url, other.api_key, "sleep inf")
    fake.control.advance(COMPLETED_AT)
    blobs = fake.backend.files.blobs
    real_stage, writing, release = blobs.stage, threading.Event(), threading.Event()

    def slow_write() -> Any:
        writing.set()
        assert release.wait(30)
        return real_stage()

    monkeypatch.setattr(blobs, "stage", slow_write)
    reader = threading.Thread(target=_read_quietly, args=(fake.base_url, fake.api_key, slow_job), daemon=True)
    reader.start()
    try:
        assert writing.wait(30)
        stopped = requests.post(other.url(f"/api/v2/jobs/{running}/stop/"), headers=other.headers, timeout=5)
        assert stopped.status_code == 202
    finally:
        release.set()
        reader.join(30)
    assert output_names(fake.base_url, fake.api_key, slow_job) == ["big.bin", "process_output.log"]
