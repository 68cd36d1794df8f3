"""Shared fixtures. `fake` runs each end-to-end test three times, as moto's CI does: against the fake in this
process (cheroot on loopback), against a `rescale-mock serve` child process, and in this process on the PostgreSQL
engine (a throwaway cluster per xdist worker, from the OS's packages; or $RESCALE_MOCK_TEST_POSTGRES's server); in
modules marked `twins(..., "proxied")`, a fourth time through `rescale-mock proxy` in front of the served one.
All come from the project's pytest plugin (`rescale_mock.pytest_plugin`), which gives every test its own tenant and
a manual clock. `-m "not postgres"` leaves the PostgreSQL runs out.
Helpers live on the `Fake` (`fake.upload()`, `fake.start_job()`, `fake.history(id)`...) or in the support modules
(doe.py, notebook.py, status_machines.py, real_runs.py, proxy_helpers.py): test modules never import each other."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from hypothesis import settings

from rescale_client import RescaleClient
from rescale_mock.testing import Fake

from .proxy_helpers import flows_proxy, proxied_fake  # noqa: F401 (fixtures of the proxied twin)
from .s3_helpers import (rescale_mock_s3, rescale_mock_s3_process, rescale_mock_s3_served,  # noqa: F401 (S3 twins)
                         rescale_mock_s3_server, s3_endpoint)
from .real_runs import ticking_sleep

FAKES = {"inprocess": "rescale_mock", "served": "rescale_mock_served", "postgres": "rescale_mock_postgres",
         "proxied": "proxied_fake", "s3": "rescale_mock_s3", "s3-served": "rescale_mock_s3_served"}
TWINS = ("inprocess", "served", "postgres")  # a `fake` test's twins unless its `twins` marker says otherwise


@pytest.fixture(params=["inprocess", pytest.param("served", marks=pytest.mark.served),
                        pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("proxied", marks=pytest.mark.served), "s3",
                        pytest.param("s3-served", marks=pytest.mark.served)])
def fake(request: pytest.FixtureRequest) -> Fake:
    return request.getfixturevalue(FAKES[request.param])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "twins(*names, requests_clean=False): which twins of a `fake` test run, of "
                                       "inprocess, served, postgres, proxied, s3 and s3-served (blobs in moto's "
                                       "S3 server; default: inprocess, served, postgres); a proxied twin must find no drift (nor in the requests, with requests_clean)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `fake` test runs as the twins its closest `twins` marker names, by default `TWINS`: the proxied twin in
    the modules that ask for it, a test of volume (1001 uploads, 1500 runs) in-process only."""
    def wanted(item: pytest.Item) -> bool:
        twin = getattr(getattr(item, "callspec", None), "params", {}).get("fake")
        marker = item.get_closest_marker("twins")
        return twin is None or twin in (marker.args if marker else TWINS)

    items[:] = [item for item in items if wanted(item)]


@pytest.fixture
def api(fake: Fake) -> requests.Session:
    """A requests session authenticated as the test's tenant; use with `fake.url(path)`."""
    return fake.session()


@pytest.fixture
def other(fake: Fake) -> Iterator[Fake]:
    """A second tenant on the same server, reset afterwards."""
    second = fake.other_tenant()
    yield second
    second.control.reset()


@pytest.fixture
def client(request: pytest.FixtureRequest, fake: Fake) -> Iterator[RescaleClient]:
    """The client kit as the test's tenant; its waits (waiters, retries, log following) move the fake's clock, with
    a short real pause in tests whose jobs really run (`rescale_mock_execute`: the runner's thread gets the CPU)."""
    real_runs = request.node.get_closest_marker("rescale_mock_execute") is not None
    sleep = ticking_sleep(fake.control) if real_runs else lambda seconds: fake.control.advance(seconds)
    with RescaleClient(fake.base_url, fake.api_key, progress=False, sleep=sleep) as c:
        yield c


# Hypothesis profiles: `dev` keeps a developer's run quick and random; `ci` is more thorough and derandomized, so a
# CI run is repeatable (a failure it finds fails every time). CI sets CI=true.
settings.register_profile("dev", max_examples=12)
settings.register_profile("ci", max_examples=40, derandomize=True)
settings.load_profile(os.environ.get("RESCALE_MOCK_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
