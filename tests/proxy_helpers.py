"""Running the proxy, replay and small upstreams in this process for the proxy tests, and the proxied twin of
end-to-end tests (see `twins` in conftest.py)."""
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


def drift_set(entries: list[dict[str, Any]], requests_too: bool = False) -> set[tuple[str, str, str]]:
    """The drift found on the platform's side (and on the client's, with `requests_too`)."""
    return {(e["operation"], e["kind"], e["where"]) for e in entries if requests_too or e["category"] != "request"}


# -- the proxied twin of end-to-end tests -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def flows_proxy(rescale_mock_process: Any) -> Iterator[tuple[ThreadServer, ProxyApp]]:
    """A proxy in front of the session's served fake; each proxied test gives it a report and recordings of its own."""
    server, app = start_proxy(rescale_mock_process.base_url)
    yield server, app
    server.close()


@pytest.fixture
def proxied_fake(request: pytest.FixtureRequest, rescale_mock_served: Fake, flows_proxy: tuple[ThreadServer, ProxyApp],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fake]:
    """The served fake's tenant reached through `rescale-mock proxy` (the control plane stays direct). The fake keeps
    to the spec, so afterwards neither the proxy nor `check-spec` on the test's recordings may find drift on the
    platform's side (nor on the client's, with `twins(..., requests_clean=True)`: some tests send bad requests
    on purpose)."""
    server, app = flows_proxy
    recordings = tmp_path_factory.mktemp("proxy-recordings")
    app.report, app.recorder = DriftReport(), Recorder(recordings)
    yield Fake(server.base_url, rescale_mock_served.api_key, rescale_mock_served.control, "proxied")
    strict = any(marker.kwargs.get("requests_clean") for marker in request.node.iter_markers("twins"))
    assert drift_set(app.report.drift(), strict) == set(), app.report.markdown()
    offline = check_recordings(recordings)
    assert offline.exchanges == app.report.exchanges
    assert drift_set(offline.drift(), strict) == set(), offline.markdown()
