"""Shared fixtures. `fake` runs each end-to-end test twice, as moto's CI does: against the fake in this process
(cheroot on loopback) and against a `rescale-mock serve` child process. Both come from the project's pytest
plugin (`rescale_mock.pytest_plugin`), which gives every test its own tenant and a manual clock."""
from __future__ import annotations

import pytest
import requests

from rescale_mock.testing import Fake


@pytest.fixture(params=["inprocess", pytest.param("served", marks=pytest.mark.served)])
def fake(request: pytest.FixtureRequest) -> Fake:
    name = "rescale_mock" if request.param == "inprocess" else "rescale_mock_served"
    return request.getfixturevalue(name)


@pytest.fixture
def api(fake: Fake) -> requests.Session:
    """A requests session authenticated as the test's tenant; use with `fake.url(path)`."""
    session = requests.Session()
    session.headers.update(fake.headers)
    return session


# Hypothesis profiles: `dev` keeps a developer's run quick and random; `ci` is more thorough and derandomized, so a
# CI run is repeatable (a failure it finds fails every time). CI sets CI=true.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("dev", max_examples=12)
settings.register_profile("ci", max_examples=40, derandomize=True)
settings.load_profile(os.environ.get("RESCALE_MOCK_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
