"""Running the proxy, replay and small upstreams in this process for the proxy tests."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from rescale_mock.proxy.offline import check_recordings
from rescale_mock.proxy.forward import ProxyApp
from rescale_mock.proxy.recording import Recorder
from rescale_mock.proxy.report import DriftReport
from rescale_mock.server import make_server
from rescale_mock.testing import Fake


class ThreadServer:
    """A WSGI app under the fake's own server (rescale_mock.server) on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._server = make_server(app, "127.0.0.1", 0, 8)
        self.base_url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.close()


def start_proxy(upstream: str, record: Path | None = None) -> tuple[ThreadServer, ProxyApp]:
    app = ProxyApp(upstream, DriftReport(), Recorder(record) if record else None)
    return ThreadServer(app), app


def drift_set(entries: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(e["operation"], e["kind"], e["where"]) for e in entries if e["category"] != "request"}


# -- running existing end-to-end flows through the proxy --------------------------------------------------------
def flows_of(*modules: Any) -> dict[str, Any]:
    """The tests and fixtures of `modules`, to collect into a module whose `fake` is the proxied one."""
    return {name: value for module in modules for name, value in vars(module).items()
            if name != "fake" and (name.startswith("test_") or type(value).__name__ == "FixtureFunctionDefinition")}


@pytest.fixture(scope="module")
def proxied(rescale_mock_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A recording proxy in front of the session's served fake, for one module of flows."""
    recordings = tmp_path_factory.mktemp("proxy-recordings")
    server, app = start_proxy(rescale_mock_process.base_url, record=recordings)
    yield server, app, recordings
    server.close()


@pytest.fixture
def fake(rescale_mock_served: Fake, proxied: tuple[ThreadServer, Any, Any]) -> Fake:
    """The served fake's tenant, reached through the proxy (the control plane stays direct)."""
    return Fake(proxied[0].base_url, rescale_mock_served.api_key, rescale_mock_served.control, "served")


def assert_no_drift(proxied: tuple[ThreadServer, Any, Any], at_least: int) -> None:
    """After a module's flows: the proxy saw them, and neither it nor `check-spec` on its recordings found drift."""
    _, app, recordings = proxied
    report = app.report.to_json()
    if report["exchanges"] < at_least:
        pytest.skip("run with the module's flows (this test reads what they sent through the proxy)")
    assert drift_set(report["drift"]) == set(), app.report.markdown()
    offline = check_recordings(recordings)
    assert offline.exchanges == report["exchanges"]
    assert drift_set(offline.drift()) == set(), offline.markdown()
