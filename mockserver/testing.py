"""Running the fake from tests: in this process (a server thread) or as a `rescale-mock serve` process, plus a
small client of the control plane. The pytest plugin builds its fixtures from these."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from rescale_client.control_api import ControlApi
from rescale_client.session import ApiSession

from .app import create_app
from .config import Config


class Control:
    """The control plane (`/_fake/`), scoped to one tenant when given its key: short names over `api`, the
    `ControlApi` generated from openapi/control.yaml (`rescale_client.control_api`). An error status raises the
    client's `APIError` (a `requests.HTTPError` no more); nothing is retried."""

    def __init__(self, base_url: str, api_key: str | None = None, control_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = ApiSession(self.base_url, api_key, timeout=30, retries=0)
        self.session = self._session.http  # a `requests.Session` with the tenant's key, for hand-made requests
        if control_token:  # a server started with --control-token: needed by calls without a tenant key
            self.session.headers["X-Rescale-Mock-Control-Token"] = control_token
        self.api = ControlApi(self._session)

    def reset(self) -> None:
        self.api.reset(body={})

    def create_tenant(self, api_key: str | None = None) -> dict[str, str]:
        return dict(self.api.create_tenant(body={"apiKey": api_key} if api_key else {}))

    def clock(self) -> dict[str, Any]:
        return dict(self.api.get_clock())

    def set_clock(self, mode: str | None = None, factor: float | None = None) -> dict[str, Any]:
        body = {k: v for k, v in (("mode", mode), ("factor", factor)) if v is not None}
        return dict(self.api.set_clock(body=body))

    def advance(self, seconds: float) -> dict[str, Any]:
        return dict(self.api.advance_clock(body={"seconds": seconds}))

    def seed(self, seed: int) -> None:
        self.api.seed(body={"seed": seed})

    def scenario(self, job_id: str | None = None, outcome: str = "succeed", **options: Any) -> dict[str, Any]:
        """How `job_id` (or, without one, every job submitted from now on) ends."""
        body = {"outcome": outcome, **options}
        if job_id:
            return dict(self.api.set_job_scenario(job_id=job_id, body=body))
        return dict(self.api.set_default_scenario(body=body))

    def settings(self, **changes: Any) -> dict[str, Any]:
        """Read, or change, behaviour settings: `catalogMode`, `finishedJobChanges`, `v2CoreType`."""
        return dict(self.api.update_settings(body=changes) if changes else self.api.get_settings())

    def add_catalog(self, entries: dict[str, Any]) -> dict[str, Any]:
        """Add catalog entries (the shape of a `--catalog` file: coreTypes, analyses, computePrices, projects)."""
        return dict(self.api.add_catalog_entries(body=entries))

    def execution(self) -> dict[str, Any]:
        return dict(self.api.get_execution())

    def set_execute(self, enabled: bool = True, **options: Any) -> dict[str, Any]:
        """Jobs submitted from now on run their commands for real (`analyses=[...]`, `maxParallel=N` too)."""
        return dict(self.api.set_execution(body={"enabled": enabled, **options}))

    def ssh_keys(self) -> dict[str, Any]:
        return dict(self.api.get_ssh_keys())

    def set_ssh_keys(self, public_keys: list[str]) -> dict[str, Any]:
        """The public keys that may SSH into the tenant's running jobs (the profile's "Job Settings" key)."""
        return dict(self.api.set_ssh_keys(body={"publicKeys": public_keys}))

    def add_fault(self, action: str, **rule: Any) -> dict[str, Any]:
        return dict(self.api.create_fault(body={"action": action, **rule}))

    def clear_faults(self) -> None:
        self.api.clear_faults()

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        """The tenant's journal, newest first; filters by the query's names (`method`, `path`, `operationId`,
        `limit`)."""
        return [dict(entry) for entry in self.api.list_journal(**{JOURNAL_FILTERS[k]: v for k, v in filters.items()})
                .get("results") or []]

    def assert_called(self, operation_id: str, times: int | None = None) -> list[dict[str, Any]]:
        calls = self.journal(operationId=operation_id)
        if times is None:
            assert calls, f"{operation_id} was never called"
        else:
            assert len(calls) == times, f"{operation_id} was called {len(calls)} times, expected {times}"
        return calls


JOURNAL_FILTERS = {"method": "method", "path": "path", "operationId": "operation_id", "limit": "limit"}


class InProcessServer:
    """The app under the server of server.py on a free loopback port, in a thread of this process."""

    def __init__(self, config: Config) -> None:
        from .server import make_server

        self.app = create_app(config)
        self.backend = self.app.extensions["rescale_mock"]
        self._server = make_server(self.app, "127.0.0.1", 0, 16)
        self.base_url = f"http://127.0.0.1:{self._server.effective_port}"  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.close()
        self.backend.close()


class ServedProcess:
    """`rescale-mock serve` in a child process on a free port; what a user starts by hand."""

    def __init__(self, data_dir: Path, api_keys: tuple[str, ...], *extra: str, env: dict[str, str] | None = None) -> None:
        args = [sys.executable, "-m", "rescale_mock.cli", "serve", "--port", "0", "--data-dir", str(data_dir)]
        for key in api_keys:
            args += ["--api-key", key]
        self.process = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
        self.output: list[str] = []
        self.base_url = self._wait_ready()
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            match = re.match(r"ready: (http://\S+)", line)
            if match:
                return match[1]
        raise RuntimeError("rescale-mock serve exited before it was ready:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Fake:
    """What a test gets: where the fake is, a key of its own tenant, and the control plane for that tenant."""

    base_url: str
    api_key: str
    control: Control
    mode: str
    backend: Any = None  # the in-process backend, None for a served process
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.api_key}"}

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- the few API calls most tests start from (each asserts the answer Rescale gives, with its body on failure) --
    def session(self) -> requests.Session:
        """A requests session authenticated as this tenant; use with `fake.url(path)`."""
        session = requests.Session()
        session.headers.update(self.headers)
        return session

    def other_tenant(self) -> Fake:
        """A second, isolated tenant on the same server (reset it with `.control.reset()` when done)."""
        key = self.control.create_tenant()["apiKey"]
        return Fake(self.base_url, key, Control(self.control.base_url, key), self.mode, self.backend)

    def upload(self, name: str = "input.txt", data: bytes = b"hello\n", **form: Any) -> dict[str, Any]:
        """Upload `data` as a file named `name` (`POST /api/v2/files/contents/`, 201); `form`: e.g. `typeId=1`."""
        response = requests.post(self.url("/api/v2/files/contents/"), headers=self.headers,
                                 files={"file": (name, data)}, data=form, timeout=30)
        return _expect(response, 201)

    def get(self, path: str, **params: Any) -> Any:
        """`GET path` as this tenant (200): the JSON."""
        return _expect(requests.get(self.url(path), headers=self.headers, params=params, timeout=30), 200)

    def file_names(self) -> list[str]:
        """The names in the tenant's file listing (`GET /api/v2/files/`, one page of up to 1000), newest first."""
        response = requests.get(self.url("/api/v2/files/"), headers=self.headers, params={"page_size": 1000},
                                timeout=30)
        return [f["name"] for f in _expect(response, 200)["results"]]

    def create_job(self, command: str = "echo hello", name: str = "job", **body: Any) -> dict[str, Any]:
        """Create (not submit) a v2 job running `command` on 2 `granite` cores (201); `body` adds or replaces keys."""
        payload = {"name": name, "jobanalyses": [job_analysis(command)], **body}
        return _expect(requests.post(self.url("/api/v2/jobs/"), headers=self.headers, json=payload, timeout=30), 201)

    def submit(self, job_id: str) -> None:
        """Submit a created job (`POST /api/v2/jobs/{id}/submit/`: 200 with an empty body, as Rescale answers)."""
        response = requests.post(self.url(f"/api/v2/jobs/{job_id}/submit/"), headers=self.headers, timeout=30)
        if _expect(response, 200) is not None:
            raise AssertionError(f"submit answered a body: {response.content[:200]!r}")

    def start_job(self, command: str = "echo hello", **body: Any) -> str:
        """Create and submit a job (see `create_job`); its id. Then move the clock: `fake.control.advance(s)`."""
        job_id = self.create_job(command, **body)["id"]
        self.submit(job_id)
        return job_id

    def statuses(self, job_id: str, kind: str = "statuses") -> list[dict[str, Any]]:
        """A job's `statuses` (or `cluster_statuses`), newest first as Rescale lists them, on one page."""
        response = requests.get(self.url(f"/api/v2/jobs/{job_id}/{kind}/"), headers=self.headers,
                                params={"page_size": 1000}, timeout=30)
        return _expect(response, 200)["results"]

    def history(self, job_id: str, kind: str = "statuses") -> list[str]:
        """The status names a job (or its cluster) went through, oldest first."""
        return [s["status"] for s in reversed(self.statuses(job_id, kind))]


def job_analysis(command: str = "echo hello", core: Any = "granite", cores: Any = 2,
                 hardware: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One `jobanalyses` entry: the built-in `user_included` analysis with a one-hour walltime; `hardware` adds to
    or replaces hardware keys (`{"slots": 2}`), `extra` adds entry keys (`inputFiles=[{"id": ...}]`)."""
    return {"analysis": {"code": "user_included", "version": "0"}, "command": command,
            "hardware": {"coreType": core, "coresPerSlot": cores, "walltime": 1, **(hardware or {})}, **extra}


def _expect(response: requests.Response, status: int) -> Any:
    """The answer's JSON (None when empty) if it has `status`; else an AssertionError that shows it."""
    if response.status_code != status:
        raise AssertionError(f"{response.request.method} {response.url}: {response.status_code}, expected {status}: "
                             f"{response.text[:2000]}")
    return response.json() if response.content else None
