"""Shared fixtures. `fake` runs each end-to-end test three times, as moto's CI does: against the fake in this
process (cheroot on loopback), against a `rescale-mock serve` child process, and in this process on the PostgreSQL
engine (a throwaway cluster per xdist worker, from the OS's packages; or $RESCALE_MOCK_TEST_POSTGRES's server).
All come from the project's pytest plugin (`rescale_mock.pytest_plugin`), which gives every test its own tenant and
a manual clock. `-m "not postgres"` leaves the PostgreSQL runs out."""
from __future__ import annotations

import pytest
import requests

from rescale_mock.testing import Fake


FAKES = {"inprocess": "rescale_mock", "served": "rescale_mock_served", "postgres": "rescale_mock_postgres"}


@pytest.fixture(params=["inprocess", pytest.param("served", marks=pytest.mark.served),
                        pytest.param("postgres", marks=pytest.mark.postgres)])
def fake(request: pytest.FixtureRequest) -> Fake:
    return request.getfixturevalue(FAKES[request.param])


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
