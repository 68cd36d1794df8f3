"""The end-to-end API tests (files, pagination, jobs v2 and v3, outputs, persistent clusters), run as they are but
through `rescale-mock proxy` in front of a served fake: no drift. (Some of these tests send requests outside the
spec on purpose, so request findings are expected here; only the platform side must be clean.)"""
from __future__ import annotations

from typing import Any

import pytest

from tests import (test_clusters, test_files, test_jobs_lifecycle, test_jobs_outputs, test_jobs_v3,
                   test_pagination)
from tests.proxy_helpers import assert_no_drift, fake, flows_of, proxied  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.served, pytest.mark.slow]

globals().update(flows_of(test_files, test_pagination, test_jobs_lifecycle, test_jobs_outputs, test_jobs_v3,
                          test_clusters))


def test_the_proxy_saw_every_flow_and_reports_no_drift(proxied: Any) -> None:
    assert_no_drift(proxied, at_least=100)
