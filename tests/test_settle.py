"""Issue 12 item 2 and issue 18: reading a job writes nothing (but the poll clock mode's step), and a finished job's
outputs are written once, when first shown, even by two servers (workers) over one store settling it at once."""
from __future__ import annotations

import io
import sqlite3
import threading
import time
import types
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from rescale_mock.backend import Backend
from rescale_mock.config import Config
from rescale_mock.domain import jobs as jobs_module
from rescale_mock.domain import settle as settle_module
from rescale_mock.domain.errors import NotFound
from rescale_mock.domain.settle import ClaimLost
from rescale_mock.testing import Fake, InProcessServer

COMPLETED_AT = 80.0  # a 10-second command completes 70 s after submission; a little margin
STOPPED_AT = 200.0  # its own cluster is Stopped by then
KEY = "settle-key-0123456789abcdef"
BIG = 20_000_000  # bytes of `openssl rand`: writing takes long enough for a second settler to find it claimed


def body(command: str, inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": "settle", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": command, "inputFiles": inputs or [],
        "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}


def finished_job(fake: Fake, api: requests.Session, command: str = "echo hi; openssl rand -out a.bin 1000",
                 inputs: list[dict[str, Any]] | None = None) -> str:
    response = api.post(fake.url("/api/v2/jobs/"), json=body(command, inputs))
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(STOPPED_AT)
    return job_id


@pytest.fixture
def api(rescale_mock: Fake) -> requests.Session:
    session = requests.Session()
    session.headers.update(rescale_mock.headers)
    return session


def stored(fake: Fake) -> tuple[list[tuple[str, str]], int, list[str]]:
    """What reads must leave alone: the jobs' rows, the files' rows and the blob folder."""
    with sqlite3.connect(fake.backend.db.path) as conn:
        jobs = conn.execute("SELECT doc, state FROM jobs ORDER BY seq").fetchall()
        files = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    return jobs, files, sorted(p.name for p in fake.backend.files.blobs.root.iterdir())


@pytest.fixture
def blob_writes(rescale_mock: Fake, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every blob the in-process server starts writing (outputs are staged, a sweep's run files written)."""
    blobs, seen = rescale_mock.backend.files.blobs, []
    real_stage, real_write = blobs.stage, blobs.write
    monkeypatch.setattr(blobs, "stage", lambda: seen.append("stage") or real_stage())
    monkeypatch.setattr(blobs, "write", lambda *a, **k: seen.append("write") or real_write(*a, **k))
    return seen


# -- reading never writes ------------------------------------------------------------------------------------------
def test_reading_a_finished_job_writes_nothing(rescale_mock: Fake, api: requests.Session,
                                               blob_writes: list[str]) -> None:
    fake = rescale_mock
    job_id = finished_job(fake, api)
    before = stored(fake)
    for path in (f"jobs/{job_id}/", f"jobs/{job_id}/statuses/", f"jobs/{job_id}/cluster_statuses/", "jobs/",
                 "jobs/?job_status=COMPLETED", f"jobs/{job_id}/runs/", f"jobs/{job_id}/runs/1/"):
        assert api.get(fake.url(f"/api/v2/{path}")).status_code == 200, path
    assert api.get(fake.url(f"/api/v3/jobs/{job_id}/")).status_code == 200
    assert stored(fake) == before and blob_writes == []


def test_deleting_an_unread_finished_job_writes_no_output(rescale_mock: Fake, api: requests.Session,
                                                          blob_writes: list[str]) -> None:
    fake = rescale_mock
    job_id = finished_job(fake, api, f"openssl rand -out big.bin {BIG}")
    assert api.delete(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 204
    assert blob_writes == []
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 404


def test_a_status_read_in_the_poll_mode_saves_only_its_step(rescale_mock: Fake, api: requests.Session) -> None:
    fake = rescale_mock
    fake.control.set_clock("poll")
    job_id = finished_job(fake, api)
    state = lambda: fake.backend.jobs._load(fake.backend.tenants.by_key(fake.api_key), job_id).state  # noqa: E731
    before = state()
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/")).status_code == 200  # not a status read: no step
    assert state() == before
    assert api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).status_code == 200
    assert state() == {**before, "pollStep": before.get("pollStep", 0) + 1}


def test_sizes_shown_before_settling_are_the_written_ones(rescale_mock: Fake, api: requests.Session) -> None:
    """A job list's `storage` and a run's file count and size are computed, not written, until the files are
    listed: they must then match what was written, byte for byte."""
    fake = rescale_mock
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("mesh/a.dat", b"1")
    upload = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("in.zip", archive.getvalue())})
    assert upload.status_code == 201, upload.text
    job_id = finished_job(fake, api, "echo hi; openssl rand -out r.b64 -base64 1001; openssl rand -out r.hex -hex 7",
                          [{"id": upload.json()["id"], "decompress": True}])

    def shown() -> tuple[Any, ...]:
        (item,) = [j for j in api.get(fake.url("/api/v2/jobs/")).json()["results"] if j["id"] == job_id]
        run = api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/")).json()
        return item["storage"], run["outputFileCount"], run["outputFileSize"]

    before = shown()
    files = api.get(fake.url(f"/api/v2/jobs/{job_id}/files/")).json()["results"]
    written = sum(f["decryptedSize"] for f in files)
    assert len(files) == 3 and before == (written, 3, written) == shown()


def test_a_job_run_listing_writes_the_outputs_once(rescale_mock: Fake, api: requests.Session,
                                                    blob_writes: list[str]) -> None:
    fake = rescale_mock
    job_id = finished_job(fake, api)
    for _ in range(3):
        names = [f["name"] for f in api.get(fake.url(f"/api/v2/jobs/{job_id}/runs/1/files/")).json()["results"]]
        assert sorted(names) == ["a.bin", "process_output.log"]
    assert len(blob_writes) == 2


# -- two servers over one store ------------------------------------------------------------------------------------
@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[Callable[[], Backend]]:
    """Opens backends (as worker processes would hold) over one data dir, on a manual clock. Each reads the
    tenant's clock when opened (tenants are cached in memory), so tests open the second after moving the clock."""
    opened: list[Backend] = []

    def open_one() -> Backend:
        opened.append(Backend(Config(data_dir=tmp_path, api_keys=(KEY,), clock_mode="manual", shared_store=True)))
        return opened[-1]

    yield open_one
    for server in reversed(opened):
        server.close()


def finished_in(server: Backend, command: str = f"echo hi; openssl rand -out big.bin {BIG}") -> str:
    tenant = server.tenants.by_key(KEY)
    job_id = server.jobs.create(tenant, body(command)).id
    server.jobs.submit(tenant, job_id)
    server.tenants.update_clock(tenant, lambda clock, real: clock.advance(STOPPED_AT, real))
    return job_id


def outputs_of(server: Backend, job_id: str) -> list[str]:
    rows = server.db.query("SELECT relative_path, blob FROM files WHERE job_id = ?", (job_id,))
    blobs = {p.name for p in server.blobs.root.iterdir()}
    assert {r["blob"] for r in rows} == blobs, "a blob with no row, or a row with no blob"
    assert list(server.blobs.tmp.iterdir()) == []
    return sorted(r["relative_path"] for r in rows)


def test_two_servers_settling_one_job_at_once_write_its_outputs_once(
        open_server: Callable[[], Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_server()
    job_id = finished_in(first)
    two_servers = (first, open_server())
    # Whichever server claims the outputs first holds its writing back until the other found them claimed and
    # waits: the race is certain, not a matter of luck.
    waiting = threading.Event()
    real_sleep = time.sleep
    monkeypatch.setattr(jobs_module, "time", types.SimpleNamespace(
        time=time.time, sleep=lambda seconds: waiting.set() or real_sleep(seconds)))
    for server in two_servers:
        real_stage = server.files.blobs.stage
        monkeypatch.setattr(server.files.blobs, "stage",
                            lambda stage=real_stage: waiting.wait(10) and stage())
    results: dict[int, Any] = {}
    barrier = threading.Barrier(2)

    def settle(index: int, server: Backend) -> None:
        barrier.wait()
        try:
            results[index] = server.jobs.settle(server.tenants.by_key(KEY), job_id)
        except BaseException as err:  # reported below
            results[index] = err

    threads = [threading.Thread(target=settle, args=pair) for pair in enumerate(two_servers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert waiting.is_set(), "neither server waited for the other"
    assert all(snap.record.state.get("outputsWritten") for snap in results.values()), results
    assert "outputsClaim" not in results[0].record.state and "outputsClaim" not in results[1].record.state
    assert outputs_of(first, job_id) == ["big.bin", "process_output.log"]


def test_a_claim_whose_claimer_died_is_taken_over_after_its_lease(open_server: Callable[[], Backend]) -> None:
    first = open_server()
    job_id = finished_in(first, "echo hi")
    with first.db.transaction() as conn:  # a worker claimed the outputs, then died (kill -9)
        record = first.jobs._load(first.tenants.by_key(KEY), job_id, conn)
        record.state["outputsClaim"] = {"by": "a dead worker", "until": time.time() + 0.3}
        first.jobs._save_state(conn, record)
    second, started = open_server(), time.monotonic()
    snap = second.jobs.settle(second.tenants.by_key(KEY), job_id)
    assert time.monotonic() - started >= 0.25  # it waited for the lease to run out
    assert snap.record.state.get("outputsWritten") and "outputsClaim" not in snap.record.state
    assert outputs_of(second, job_id) == ["process_output.log"]


def test_a_writer_that_lost_its_claim_throws_its_outputs_away(open_server: Callable[[], Backend],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer stalled past its lease: another took over. Whichever records second must list nothing."""
    first = open_server()
    job_id = finished_in(first, "echo hi; openssl rand -out a.bin 100")
    tenant = first.tenants.by_key(KEY)
    real_stage = first.files.blobs.stage

    def stage_then_lose_the_claim() -> Any:
        with first.db.transaction() as conn:
            record = first.jobs._load(tenant, job_id, conn)
            record.state["outputsClaim"] = {"by": "another worker", "until": time.time() + 60}
            first.jobs._save_state(conn, record)
        return real_stage()

    monkeypatch.setattr(first.files.blobs, "stage", stage_then_lose_the_claim)
    snap = first.jobs.settle(tenant, job_id)
    assert not snap.record.state.get("outputsWritten")
    assert outputs_of(first, job_id) == []  # its blobs are gone with its rows


def test_settling_a_job_deleted_while_its_outputs_are_written_leaves_nothing(
        open_server: Callable[[], Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_server()
    job_id = finished_in(first, "echo hi; openssl rand -out a.bin 100")
    second = open_server()
    real_stage = first.files.blobs.stage

    def stage_while_deleted() -> Any:
        if first.db.one("SELECT 1 FROM jobs WHERE id = ?", (job_id,)):
            second.jobs.delete(second.tenants.by_key(KEY), job_id)
        return real_stage()

    monkeypatch.setattr(first.files.blobs, "stage", stage_while_deleted)
    with pytest.raises(NotFound):
        first.jobs.settle(first.tenants.by_key(KEY), job_id)
    assert outputs_of(first, job_id) == []


def test_a_lost_claim_stops_a_long_write_early(monkeypatch: pytest.MonkeyPatch) -> None:
    renewals: list[int] = []
    monkeypatch.setattr(settle_module, "LEASE_SECONDS", 0.0)  # renew before every chunk

    def renew() -> None:
        renewals.append(1)
        if len(renewals) == 2:
            raise ClaimLost()

    chunks = settle_module.renewing(iter([b"a", b"b", b"c"]), renew)
    assert next(chunks) == b"a"
    with pytest.raises(ClaimLost):
        list(chunks)


def test_two_servers_listing_a_sweeps_runs_at_once_list_each_runs_files_once(
        open_server: Callable[[], Backend], monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_server()
    tenant = first.tenants.by_key(KEY)
    staged = first.blobs.stage()
    staged.write(b"x\n1\n2\n3\n")
    params = first.files.add_upload(tenant, "params.csv", staged, 3)
    sweep = {**body("echo run; openssl rand -out r.bin 100"), "paramFile": {"id": params.id}}
    sweep["jobanalyses"][0]["hardware"]["slots"] = 3
    job_id = first.jobs.create(tenant, sweep).id
    first.jobs.submit(tenant, job_id)
    first.tenants.update_clock(tenant, lambda clock, real: clock.advance(STOPPED_AT, real))
    servers = (first, open_server())
    both_writing = threading.Barrier(2)  # each has found the runs without files before either lists its own
    for server in servers:
        real_write = server.files.blobs.write
        calls: list[int] = []

        def write(*args: Any, real_write: Any = real_write, calls: list[int] = calls, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 1:
                both_writing.wait(10)
            return real_write(*args, **kwargs)

        monkeypatch.setattr(server.files.blobs, "write", write)

    def list_runs(server: Backend) -> None:
        one = server.tenants.by_key(KEY)
        server.jobs.sweeps.settle(one, server.jobs.snapshot(one, job_id))

    threads = [threading.Thread(target=list_runs, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = first.db.query("SELECT run_id, relative_path, blob FROM files WHERE job_id = ?", (job_id,))
    assert sorted((r["run_id"], r["relative_path"]) for r in rows) == [
        (run, path) for run in "123" for path in ("process_output.log", "r.bin")]
    assert {r["blob"] for r in rows} | {params.blob} == {p.name for p in first.blobs.root.iterdir()}


def test_a_lone_server_restarted_after_a_crash_takes_a_dead_claim_at_once(tmp_path: Path) -> None:
    """Without `shared_store` the server holds the data dir's lock: any claim older than its start is dead."""
    config = Config(data_dir=tmp_path, api_keys=(KEY,), clock_mode="manual")
    crashed = Backend(config)
    try:
        job_id = finished_in(crashed, "echo hi")
        with crashed.db.transaction() as conn:  # claimed, then killed
            record = crashed.jobs._load(crashed.tenants.by_key(KEY), job_id, conn)
            record.state["outputsClaim"] = {"by": "the crashed server", "at": time.time(), "until": time.time() + 60}
            crashed.jobs._save_state(conn, record)
    finally:
        crashed.close()
    restarted, started = Backend(config), time.monotonic()
    try:
        snap = restarted.jobs.settle(restarted.tenants.by_key(KEY), job_id)
        assert time.monotonic() - started < 5 and snap.record.state.get("outputsWritten")
        assert outputs_of(restarted, job_id) == ["process_output.log"]
    finally:
        restarted.close()


def test_two_served_apps_over_one_store_list_a_finished_jobs_outputs_once(tmp_path: Path) -> None:
    """Over HTTP: two servers (as `--workers` runs them) over one data dir, each asked for the job's files at once."""
    config = Config(data_dir=tmp_path, api_keys=(KEY,), clock_mode="manual", shared_store=True)
    first = InProcessServer(config)
    servers = [first]
    try:
        job_id = finished_in(first.backend)
        servers.append(InProcessServer(config))  # opened after the clock moved (tenants are cached per process)
        start, listed = threading.Barrier(2), {}

        def list_files(server: InProcessServer) -> None:
            start.wait()
            response = requests.get(f"{server.base_url}/api/v2/jobs/{job_id}/files/", headers={
                "Authorization": f"Token {KEY}"}, timeout=60)
            listed[server.base_url] = sorted((f["id"], f["name"]) for f in response.json()["results"])

        threads = [threading.Thread(target=list_files, args=(server,)) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        first_seen, second_seen = listed.values()
        assert first_seen == second_seen and sorted(name for _, name in first_seen) == ["big.bin", "process_output.log"]
        assert outputs_of(first.backend, job_id) == ["big.bin", "process_output.log"]
    finally:
        for server in reversed(servers):
            server.close()
