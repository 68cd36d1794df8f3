"""The seeds' flows (tests/test_seeds.py) and the client's notebook flows (tests/test_client_notebook.py), run as
they are but through `rescale-mock proxy` in front of a served fake: the fake keeps to the spec, so the proxy must
report no drift at all, and every call must reach the upstream unchanged (the flows' own assertions pass)."""
from __future__ import annotations

from typing import Any

import pytest

from tests import test_client_notebook, test_seeds
from tests.proxy_helpers import assert_no_drift, fake, flows_of, proxied  # noqa: F401 (fixtures)

pytestmark = pytest.mark.served

globals().update(flows_of(test_seeds, test_client_notebook))


def test_the_proxy_saw_every_flow_and_reports_no_drift(proxied: Any) -> None:
    assert_no_drift(proxied, at_least=50)
    report = proxied[1].report.to_json()
    assert len(report["operations"]) >= 15, report["operations"]
    assert [e for e in report["drift"] if e["category"] == "request"] == [], proxied[1].report.markdown()
