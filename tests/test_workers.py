"""`rescale-mock serve --workers 2`: two processes on one port over one store, served for real.

A keep-alive connection stays with the worker that accepted it, so a `requests.Session` pinned to each worker (told
apart by `X-Rescale-Mock-Worker: <pid>`) sends a request "through" a chosen worker. Waits are bounded polls with a
deadline, never sleeps for a status.

The coherence tests (faults with `times`, reset, the clock, scenarios, the journal, settling a finished job) need
that state in the store, not in a worker's memory (issue #18's "all state in the store"). Each also runs against one
process, where both sessions reach the same memory: it must pass there, so a failure with two workers is theirs.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from rescale_mock import cli, create_app
from rescale_mock.config import Config
from rescale_mock.testing import Control, ServedProcess
from rescale_mock.testing_postgres import schema_of_its_own

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--workers needs fork(); Windows refuses it")

KEY = "workers-key-0123456789abcdef0123456789abcdef"
HEADER = "X-Rescale-Mock-Worker"
JOB = {"name": "workers", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                           "command": "echo hello", "hardware": {"coreType": "granite",
                                                                                 "coresPerSlot": 2, "walltime": 1}}]}
DEADLINE = 30.0


# -- helpers -----------------------------------------------------------------------------------------------------
def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            found |= {int(c) for c in fh.read().split()}
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(predicate: Any, what: str, deadline: float = DEADLINE) -> Any:
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < end, f"not within {deadline:.0f} s: {what}"
        time.sleep(0.05)


def pinned(base_url: str, key: str, workers: int = 2) -> dict[str, requests.Session]:
    """One keep-alive session per worker: new connections are opened concurrently (which worker accepts one is a
    race) until every worker holds one."""
    found: dict[str, requests.Session] = {}

    def connect(_: int) -> tuple[str, requests.Session]:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {key}"
        response = session.get(f"{base_url}/api/v2/users/me/", timeout=30)
        assert response.status_code == 200, response.text
        return response.headers[HEADER], session

    end = time.monotonic() + DEADLINE
    while len(found) < workers:
        assert time.monotonic() < end, f"only workers {sorted(found)} took connections"
        with ThreadPoolExecutor(8) as pool:
            for pid, session in pool.map(connect, range(8)):
                if pid in found:
                    session.close()
                else:
                    found[pid] = session
    return found


def through(session: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """A request on a pinned session; it must come back from the same worker (the connection was kept)."""
    expected = getattr(session, "worker", None)
    response = session.request(method, url, timeout=60, **kwargs)
    if expected is not None:
        assert response.headers.get(HEADER) == expected, "the pinned connection moved to another worker"
    return response


class Served:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.process = ServedProcess(data_dir, (KEY,), "--workers", "2", "--clock-mode", "manual", *extra)
        self.base_url = self.process.base_url
        self.parent = self.process.process.pid
        self.data_dir = data_dir

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def tenant(self) -> tuple[str, dict[str, requests.Session]]:
        """A fresh tenant (so tests share the server without sharing state) and a session per worker."""
        key = Control(self.base_url).create_tenant()["apiKey"]
        sessions = pinned(self.base_url, key)
        for pid, session in sessions.items():
            session.worker = pid  # type: ignore[attr-defined]
        return key, sessions


class OneProcess(Served):
    """The same tests against one process (both "workers" are it): what they expect holds there, so a failure
    with two workers is the workers' incoherence, not a wrong expectation."""

    def __init__(self, data_dir: Path) -> None:
        self.process = ServedProcess(data_dir, (KEY,), "--clock-mode", "manual")
        self.base_url = self.process.base_url
        self.parent = self.process.process.pid
        self.data_dir = data_dir

    def tenant(self) -> tuple[str, dict[str, requests.Session]]:
        key = Control(self.base_url).create_tenant()["apiKey"]
        sessions = {}
        for name in ("a", "b"):
            sessions[name] = requests.Session()
            sessions[name].headers["Authorization"] = f"Token {key}"
        return key, sessions


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("workers"))
    yield server
    server.process.close()


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = OneProcess(tmp_path_factory.mktemp("one-process"))
    yield server
    server.process.close()


@pytest.fixture(scope="module")
def served_postgres(tmp_path_factory: pytest.TempPathFactory, rescale_mock_postgres_url: str) -> Iterator[Served]:
    """Two workers on the PostgreSQL engine (a schema of their own in the session's throwaway cluster)."""
    with schema_of_its_own(rescale_mock_postgres_url) as url:
        server = Served(tmp_path_factory.mktemp("workers-postgres"), "--database", url)
        yield server
        server.process.close()


PAIRS = {"two workers": "served", "one process": "one_process", "two workers on postgresql": "served_postgres"}


@pytest.fixture(params=["two workers", "one process",
                        pytest.param("two workers on postgresql", marks=pytest.mark.postgres)])
def pair(request: pytest.FixtureRequest) -> Served:
    """Two sessions' server for the coherence tests: two workers (SQLite, PostgreSQL), and one process as the
    reference."""
    return request.getfixturevalue(PAIRS[request.param])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def workers_on(request: pytest.FixtureRequest) -> Served:
    """Two workers on each storage engine."""
    return request.getfixturevalue("served" if request.param == "sqlite" else "served_postgres")


def two(sessions: dict[str, requests.Session]) -> tuple[requests.Session, requests.Session]:
    a, b = sessions.values()
    return a, b


def upload(session: requests.Session, url: str, name: str, data: bytes) -> dict[str, Any]:
    response = through(session, "POST", url, files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


# -- serving -----------------------------------------------------------------------------------------------------
def test_two_workers_serve_one_port_as_children_of_the_parent(served: Served) -> None:
    _key, sessions = served.tenant()
    assert {int(pid) for pid in sessions} <= children(served.parent)
    assert len(children(served.parent)) == 2
    assert sum("ready: " in line for line in served.process.output) == 1  # the parent says it once


def test_on_linux_each_worker_has_a_socket_of_its_own_on_one_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from rescale_mock import workers

    many = workers.listening_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in many}
        assert len(ports) == 1 and len(many) == (3 if workers.spreads_connections() else 1)
    finally:
        for sock in many:
            sock.close()
    monkeypatch.setattr(workers, "spreads_connections", lambda: False)  # macOS, the BSDs: one socket, shared
    shared = workers.listening_sockets("127.0.0.1", 0, 3)
    assert len(shared) == 1
    shared[0].close()


def test_one_process_does_not_tag_its_responses() -> None:
    app = create_app(Config(api_keys=(KEY,)))
    try:
        response = app.test_client().get("/api/v2/users/me/", headers={"Authorization": f"Token {KEY}"})
        assert response.status_code == 200 and HEADER not in response.headers
    finally:
        app.extensions["rescale_mock"].close()


def test_jobs_and_files_made_through_one_worker_are_seen_through_the_other(workers_on: Served) -> None:
    served = workers_on
    _key, sessions = served.tenant()
    a, b = two(sessions)
    data = os.urandom(3 << 20)
    made = upload(a, served.url("/api/v2/files/contents/"), "inputs.bin", data)
    job = through(b, "POST", served.url("/api/v2/jobs/"), json={**JOB, "jobanalyses": [
        {**JOB["jobanalyses"][0], "inputFiles": [{"id": made["id"]}]}]})
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]

    assert through(a, "GET", served.url(f"/api/v2/jobs/{job_id}/")).json()["name"] == "workers"
    for session in (a, b):
        body = through(session, "GET", served.url(f"/api/v2/files/{made['id']}/contents/")).content
        assert hashlib.sha512(body).hexdigest() == hashlib.sha512(data).hexdigest()
        assert through(session, "GET", served.url("/api/v2/jobs/")).json()["count"] == 1
        ranged = through(session, "GET", served.url(f"/api/v2/files/{made['id']}/contents/"),
                         headers={"Range": "bytes=10-19"})
        assert ranged.status_code == 206 and ranged.content == data[10:20]
    assert through(a, "DELETE", served.url(f"/api/v2/files/{made['id']}/")).status_code == 204
    assert through(b, "GET", served.url(f"/api/v2/files/{made['id']}/")).status_code == 404


def test_a_portal_session_signed_in_through_one_worker_holds_on_the_other(served: Served) -> None:
    key, sessions = served.tenant()
    a, b = two(sessions)
    form = through(b, "GET", served.url("/portal/sign-in"))  # the session (its CSRF token) starts on b
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf, form.text[:200]
    a.cookies.update(b.cookies)
    signed = through(a, "POST", served.url("/portal/sign-in"), data={"key": key, "csrf": csrf[1]},
                     allow_redirects=False)
    assert signed.status_code == 303, signed.text[:300]
    b.cookies.update(a.cookies)
    page = through(b, "GET", served.url("/portal/jobs"), allow_redirects=False)
    assert page.status_code == 200, (page.status_code, page.headers.get("Location"))


# -- crashes and stopping -------------------------------------------------------------------------------------------
def staging_holder(data_dir: Path, pids: set[int]) -> int | None:
    """The worker with a file of the data dir's staging folder open: the one receiving an upload."""
    staging = str(data_dir / "tmp")
    for pid in pids:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith(staging + "/") for link in links):
            return pid
    return None


def stalling_upload(base_url: str, authorization: str, stalled: threading.Event, release: threading.Event,
                    outcome: dict[str, Any]) -> None:
    """POST /api/v2/files/contents/ with a 64 MiB multipart body whose sending stops after 16 MiB until `release`."""
    boundary = "workers-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk = os.urandom(1 << 20)
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("POST", "/api/v2/files/contents/")
        conn.putheader("Authorization", authorization)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + 64 * len(chunk) + len(tail)))
        conn.endheaders()
        conn.send(head)
        for index in range(64):
            if index == 16:
                stalled.set()
                release.wait(DEADLINE)
            conn.send(chunk)
        conn.send(tail)
        outcome["status"] = conn.getresponse().status
    except OSError as err:
        outcome["error"] = err
    finally:
        conn.close()


def test_kill_9_of_a_worker_mid_upload_loses_nothing_acknowledged_and_it_is_replaced(tmp_path: Path) -> None:
    server = Served(tmp_path / "data")
    try:
        _key, sessions = server.tenant()
        a, b = two(sessions)
        kept = {}
        for index, session in enumerate((a, b, a, b)):
            data = os.urandom((1 << 20) + index)
            kept[upload(session, server.url("/api/v2/files/contents/"), f"kept-{index}.bin", data)["id"]] = data
        job_id = through(a, "POST", server.url("/api/v2/jobs/"), json=JOB).json()["id"]
        workers_before = children(server.parent)

        # a 64 MiB multipart upload that stalls after 16 MiB, on a connection of its own
        stalled, release, outcome = threading.Event(), threading.Event(), {}
        uploader = threading.Thread(target=stalling_upload, daemon=True,
                                    args=(server.base_url, a.headers["Authorization"], stalled, release, outcome))
        uploader.start()
        assert stalled.wait(DEADLINE)
        victim = wait_until(lambda: staging_holder(server.data_dir, workers_before), "a worker staging the upload")
        os.kill(victim, signal.SIGKILL)
        survivor = a if int(b.worker) == victim else b  # type: ignore[attr-defined]
        assert through(survivor, "GET", server.url("/api/v2/users/me/")).status_code == 200  # serves on meanwhile
        release.set()
        uploader.join(DEADLINE)
        assert "error" in outcome, outcome  # never acknowledged

        # the parent replaces it
        replaced = wait_until(lambda: (lambda now: now if len(now) == 2 and victim not in now else None)(
            children(server.parent)), "a second worker again")
        assert victim not in replaced and len(replaced - workers_before) == 1
        wait_until(lambda: any("was killed by signal 9" in line for line in server.process.output),
                   "the parent's log line")

        # nothing acknowledged is lost, and the cut upload left no file behind
        reader = requests.Session()
        reader.headers["Authorization"] = a.headers["Authorization"]
        for file_id, data in kept.items():
            response = reader.get(server.url(f"/api/v2/files/{file_id}/contents/"), timeout=30)
            assert response.status_code == 200 and response.content == data
        assert reader.get(server.url(f"/api/v2/jobs/{job_id}/"), timeout=30).status_code == 200
        names = [f["name"] for f in reader.get(server.url("/api/v2/files/?page_size=100"), timeout=30).json()["results"]]
        assert "big.bin" not in names and len(names) == len(kept)
        # both workers serve again: the new one included
        again = pinned(server.base_url, a.headers["Authorization"].split()[1])
        assert {int(pid) for pid in again} == replaced
    finally:
        server.process.close()


def test_sigterm_stops_every_worker_and_releases_the_data_dir(tmp_path: Path) -> None:
    server = Served(tmp_path / "data")
    try:
        workers = wait_until(lambda: (lambda now: now if len(now) == 2 else None)(children(server.parent)),
                             "two workers")
        server.process.process.send_signal(signal.SIGTERM)
        assert server.process.process.wait(DEADLINE) == 0
        wait_until(lambda: not any(alive(pid) for pid in workers), "every worker gone")
    finally:
        server.process.close()
    again = ServedProcess(tmp_path / "data", (KEY,))  # the lock was released: a new server may take the folder
    try:
        assert requests.get(f"{again.base_url}/api/v2/users/me/", headers={"Authorization": f"Token {KEY}"},
                            timeout=30).status_code == 200
    finally:
        again.close()


HELD_SIGTERM = """
import os, signal
from rescale_mock.server import serve_until_stopped, sigterm_held

class Server:
    def run(self):
        signal.pause()  # the held SIGTERM arrives before this
    def close(self):
        print("closed", flush=True)

with sigterm_held():
    os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor might, the moment the server says `ready:`
    print("still starting", flush=True)
    serve_until_stopped(Server())
print("clean-up ran", flush=True)
"""


def test_a_sigterm_that_comes_while_the_server_starts_waits_and_then_stops_it_cleanly() -> None:
    """`serve` holds SIGTERM from its start until it serves, so a stop sent the moment it says `ready:` never kills it
    halfway (exit -15, the data dir's pid file left behind) but runs its clean-up."""
    done = subprocess.run([sys.executable, "-c", HELD_SIGTERM], capture_output=True, text=True, timeout=DEADLINE)
    assert (done.returncode, done.stdout.split()) == (0, ["still", "starting", "closed", "clean-up", "ran"]), done


def test_workers_follow_a_parent_killed_with_kill_9(tmp_path: Path) -> None:
    server = Served(tmp_path / "data")
    try:
        workers = wait_until(lambda: (lambda now: now if len(now) == 2 else None)(children(server.parent)),
                             "two workers")
        os.kill(server.parent, signal.SIGKILL)
        server.process.process.wait(DEADLINE)
        wait_until(lambda: not any(alive(pid) for pid in workers), "every worker gone with its parent")
    finally:
        server.process.close()


def test_the_parent_refuses_what_several_workers_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["serve", "--workers", "2", "--execute", "--data-dir", str(tmp_path)]) == 2
    assert "--execute runs jobs' commands from one supervisor process" in capsys.readouterr().err
    assert cli.main(["serve", "--workers", "2", "--demo", "--data-dir", str(tmp_path)]) == 2
    assert "--demo cannot be combined" in capsys.readouterr().err
    from rescale_mock import workers

    monkeypatch.setattr(workers, "supported", lambda: False)
    assert cli.main(["serve", "--workers", "3", "--data-dir", str(tmp_path)]) == 2
    assert "--workers 3 needs fork()" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["serve", "--workers", "0", "--data-dir", str(tmp_path)])
    assert "out of range (1 to 64)" in capsys.readouterr().err
    monkeypatch.undo()
    with socket.socket() as taken:  # the parent binds before it forks: a port in use is the usual one-line error
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--workers", "2", "--port", str(port), "--data-dir", str(tmp_path)]) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err


# -- coherence: state every worker must see (needs all state in the store) ----------------------------------------
def test_a_fault_armed_through_one_worker_fires_times_in_all_wherever_requests_land(pair: Served) -> None:
    _key, sessions = pair.tenant()
    a, b = two(sessions)
    through(a, "POST", pair.url("/_fake/faults/"),
            json={"action": "status", "method": "GET", "path": "/api/v2/users/me/", "status": 503,
                  "times": 3}).raise_for_status()
    codes = [through(s, "GET", pair.url("/api/v2/users/me/")).status_code for s in (b, a, b, a, b, a)]
    assert codes == [503, 503, 503, 200, 200, 200]


def test_a_reset_through_one_worker_is_seen_by_the_other(pair: Served) -> None:
    _key, sessions = pair.tenant()
    a, b = two(sessions)
    through(a, "POST", pair.url("/api/v2/jobs/"), json=JOB).raise_for_status()
    through(a, "POST", pair.url("/_fake/clock/advance/"), json={"seconds": 600}).raise_for_status()
    through(a, "POST", pair.url("/_fake/faults/"),
            json={"action": "status", "path": "/api/v2/coretypes/*", "status": 503}).raise_for_status()
    through(a, "PUT", pair.url("/_fake/scenario/"), json={"outcome": "fail"}).raise_for_status()
    through(b, "POST", pair.url("/_fake/reset/"), json={}).raise_for_status()

    assert through(a, "GET", pair.url("/api/v2/jobs/")).json()["count"] == 0
    assert through(a, "GET", pair.url("/api/v2/coretypes/")).status_code == 200
    assert through(a, "GET", pair.url("/_fake/faults/")).json() == []
    assert through(a, "GET", pair.url("/_fake/clock/")).json() == through(b, "GET", pair.url("/_fake/clock/")).json()


def test_the_clock_is_one_clock(pair: Served) -> None:
    _key, sessions = pair.tenant()
    a, b = two(sessions)
    before = through(b, "GET", pair.url("/_fake/clock/")).json()  # b has seen the tenant's clock
    moved = through(a, "POST", pair.url("/_fake/clock/advance/"), json={"seconds": 3600}).json()
    assert moved["now"] != before["now"]
    assert through(b, "GET", pair.url("/_fake/clock/")).json() == moved
    through(b, "PUT", pair.url("/_fake/clock/"), json={"factor": 7}).raise_for_status()
    assert through(a, "GET", pair.url("/_fake/clock/")).json()["factor"] == 7


def test_a_scenario_set_through_one_worker_decides_a_job_run_through_the_other(pair: Served) -> None:
    _key, sessions = pair.tenant()
    a, b = two(sessions)
    through(a, "PUT", pair.url("/_fake/scenario/"), json={"outcome": "fail", "exitCode": 3}).raise_for_status()
    job_id = through(b, "POST", pair.url("/api/v2/jobs/"), json=JOB).json()["id"]
    through(b, "POST", pair.url(f"/api/v2/jobs/{job_id}/submit/")).raise_for_status()
    other = through(b, "POST", pair.url("/api/v2/jobs/"), json=JOB).json()["id"]
    through(a, "PUT", pair.url(f"/_fake/jobs/{other}/scenario/"), json={"outcome": "no_resources"}).raise_for_status()
    through(b, "POST", pair.url(f"/api/v2/jobs/{other}/submit/")).raise_for_status()
    through(b, "POST", pair.url("/_fake/clock/advance/"), json={"seconds": 3600}).raise_for_status()
    for session in (a, b):
        failed = through(session, "GET", pair.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"][0]
        assert failed["status"] == "Completed" and failed["statusReason"] != "Completed successfully", failed
        starved = through(session, "GET", pair.url(f"/api/v2/jobs/{other}/statuses/")).json()["results"][0]
        assert "compute resources" in (starved["statusReason"] or ""), starved


def test_the_journal_holds_the_requests_of_every_worker(pair: Served) -> None:
    _key, sessions = pair.tenant()
    a, b = two(sessions)
    through(a, "DELETE", pair.url("/_fake/journal/")).raise_for_status()
    for session in (a, b, b, a, b):
        through(session, "GET", pair.url("/api/v2/users/me/")).raise_for_status()
    for session in (a, b):
        calls = through(session, "GET", pair.url("/_fake/journal/"),
                        params={"operationId": "getCurrentUser"}).json()["results"]
        assert len(calls) == 5, calls


def test_two_workers_settling_the_same_finished_job_write_its_outputs_once(pair: Served) -> None:
    key, sessions = pair.tenant()
    a, b = two(sessions)
    job_id = through(a, "POST", pair.url("/api/v2/jobs/"), json=JOB).json()["id"]
    assert through(a, "POST", pair.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    through(a, "POST", pair.url("/_fake/clock/advance/"), json={"seconds": 3600}).raise_for_status()
    barrier = threading.Barrier(2)

    def list_outputs(session: requests.Session) -> list[str]:
        barrier.wait()
        response = through(session, "GET", pair.url(f"/api/v2/jobs/{job_id}/files/"))
        assert response.status_code == 200, response.text
        return [f["name"] for f in response.json()["results"]]

    with ThreadPoolExecutor(2) as pool:
        seen = list(pool.map(list_outputs, (a, b)))
    assert seen[0] == seen[1] and seen[0].count("process_output.log") == 1
    files = through(b, "GET", pair.url("/api/v2/files/?page_size=100")).json()["results"]
    assert [f["name"] for f in files].count("process_output.log") == 1
