"""Running the proxy, replay and small upstreams in this process for the proxy tests."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rescale_mock.proxy.forward import ProxyApp
from rescale_mock.proxy.recording import Recorder
from rescale_mock.proxy.report import DriftReport
from rescale_mock.server import make_server


class ThreadServer:
    """A WSGI app under waitress on a free loopback port, in a thread."""

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
