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
