"""The seeds' flows (tests/test_seeds.py) and the client's notebook flows (tests/test_client_notebook.py), run as
they are but through `rescale-mock proxy` in front of a served fake: the fake keeps to the spec, so the proxy must
report no drift at all, and every call must reach the upstream unchanged (the flows' own assertions pass)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from rescale_mock.proxy.offline import check_recordings
from rescale_mock.testing import Fake, ServedProcess
from tests import test_client_notebook, test_seeds
from tests.proxy_helpers import ThreadServer, drift_set, start_proxy

pytestmark = pytest.mark.served

# The flows themselves, collected here so that they use this module's `fake` (the proxy's URL).
globals().update({name: getattr(module, name) for module in (test_seeds, test_client_notebook) for name in dir(module)
                  if name.startswith("test_") or name in ("_fake_clock", "profile", "client")})


@pytest.fixture(scope="module")
def proxied(rescale_mock_process: ServedProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    recordings = tmp_path_factory.mktemp("proxy-recordings")
    server, app = start_proxy(rescale_mock_process.base_url, record=recordings)
    yield server, app, recordings
    server.close()


@pytest.fixture
def fake(rescale_mock_served: Fake, proxied: tuple[ThreadServer, Any, Any]) -> Fake:
    """The served fake's tenant, reached through the proxy (the control plane stays direct)."""
    server = proxied[0]
    return Fake(server.base_url, rescale_mock_served.api_key, rescale_mock_served.control, "served")


def test_the_proxy_saw_every_flow_and_reports_no_drift(proxied: tuple[ThreadServer, Any, Any]) -> None:
    _, app, recordings = proxied
    report = app.report.to_json()
    if report["exchanges"] < 50:
        pytest.skip("run with the flows above (this test reads what they sent through the proxy)")
    assert len(report["operations"]) >= 15, report["operations"]
    assert drift_set(report["drift"]) == set(), app.report.markdown()
    assert [e for e in report["drift"] if e["category"] == "request"] == [], app.report.markdown()
    offline = check_recordings(recordings).to_json()  # the same exchanges, re-checked from the recordings
    assert offline["exchanges"] == report["exchanges"]
    assert drift_set(offline["drift"]) == set(), check_recordings(recordings).markdown()
