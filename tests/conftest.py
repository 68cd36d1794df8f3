"""Shared fixtures. `fake` runs each end-to-end test twice, as moto's CI does: against the fake in this process
(cheroot on loopback) and against a `rescale-mock serve` child process; in modules marked `twins(..., "proxied")`, a
third time through `rescale-mock proxy` in front of the served one. They come from the project's pytest plugin
(`rescale_mock.pytest_plugin`), which gives every test its own tenant and a manual clock.
Helpers live on the `Fake` (`fake.upload()`, `fake.start_job()`, `fake.history(id)`...) or in the support modules
(doe.py, notebook.py, status_machines.py, real_runs.py, proxy_helpers.py): test modules never import each other."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import settings
from urllib3.util.retry import Retry

from rescale_client import RescaleClient
from rescale_mock.testing import Fake

from .proxy_helpers import flows_proxy, proxied_fake  # noqa: F401 (fixtures of the proxied twin)
from .real_runs import ticking_sleep


@pytest.fixture(params=["inprocess", pytest.param("served", marks=pytest.mark.served),
                        pytest.param("proxied", marks=pytest.mark.served)])
def fake(request: pytest.FixtureRequest) -> Fake:
    name = {"inprocess": "rescale_mock", "served": "rescale_mock_served", "proxied": "proxied_fake"}[request.param]
    return request.getfixturevalue(name)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "twins(*names, requests_clean=False): which twins of a `fake` test run, of "
                                       "inprocess, served and proxied (default: inprocess and served); a proxied twin "
                                       "must find no drift (nor in the requests, with requests_clean)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `fake` test runs as the twins its closest `twins` marker names, by default in-process and served: the
    proxied twin in the modules that ask for it, a test of volume (1001 uploads, 1500 runs) in-process only."""
    def wanted(item: pytest.Item) -> bool:
        twin = getattr(getattr(item, "callspec", None), "params", {}).get("fake")
        marker = item.get_closest_marker("twins")
        return twin is None or twin in (marker.args if marker else ("inprocess", "served"))

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


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between transport retries, recorded instead of slept: pass `sleep=retry_waits.append` to a client;
    urllib3's Retry (the client's GET retries today) records its Retry-After or backoff here too."""
    waits: list[float] = []

    def record(retry: Retry, response: Any = None) -> None:
        after = retry.get_retry_after(response) if response is not None and retry.respect_retry_after_header else None
        waits.append(float(after if after is not None else retry.get_backoff_time()))

    monkeypatch.setattr(Retry, "sleep", record)
    return waits


# Hypothesis profiles: `dev` keeps a developer's run quick and random; `ci` is more thorough and derandomized, so a
# CI run is repeatable (a failure it finds fails every time). CI sets CI=true.
settings.register_profile("dev", max_examples=12)
settings.register_profile("ci", max_examples=40, derandomize=True)
settings.load_profile(os.environ.get("RESCALE_MOCK_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
