"""pytest plugin (entry point `pytest11`): a running fake Rescale for your tests.

- `rescale_mock`: the fake in this process on a free loopback port, shared by the session; each test gets a tenant
  (API key) of its own, so tests cannot see each other's files or jobs, and the tenant is reset afterwards.
- `rescale_mock_served`: the same, against a `rescale-mock serve` child process.
- `rescale_mock_postgres`: the in-process fake on the PostgreSQL engine, in a throwaway PostgreSQL cluster started
  from the OS's packages for the session (or in a schema of its own on $RESCALE_MOCK_TEST_POSTGRES's server); the
  test fails, saying how to install PostgreSQL, when neither is there. `rescale_mock_postgres_url` is that database.
The clock starts in `manual` mode: move it with `fake.control.advance(seconds)` instead of sleeping.
Jobs are simulated; `fake.control.set_execute(True)` or `@pytest.mark.rescale_mock_execute` makes a test's
`user_included` jobs run their commands for real (both servers are started with `--execute=opt-in`).
Every response is validated against the spec; a violation fails the test.
The catalog is the built-in one in the `strict` mode (unknown analyses and core types are refused). A test adds
its own entries, or picks the `lenient` mode, with a marker:
    @pytest.mark.rescale_catalog({"analyses": [{"code": "my_solver", "versions": [{"versionCode": "2.1"}]}]})
    @pytest.mark.rescale_catalog(mode="lenient")
or at run time with `fake.control.add_catalog({...})` and `fake.control.settings(catalogMode="lenient")`.
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .config import Config
from .testing import Control, Fake, InProcessServer, ServedProcess
from .testing_postgres import database_url


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rescale_mock_execute: the test's jobs run their commands for real")
    config.addinivalue_line("markers", "rescale_catalog(entries=None, mode=None): catalog entries (the shape of a "
                                       "--catalog file) and/or the catalog mode (strict|lenient) for the test's tenant")


@pytest.fixture(scope="session")
def rescale_mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = InProcessServer(Config(data_dir=tmp_path_factory.mktemp("rescale-mock"), validate_responses=True,
                                    clock_mode="manual", execute="opt-in"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def rescale_mock_postgres_url() -> Iterator[str]:
    with database_url() as url:
        yield url


@pytest.fixture(scope="session")
def rescale_mock_postgres_server(tmp_path_factory: pytest.TempPathFactory,
                                 rescale_mock_postgres_url: str) -> Iterator[InProcessServer]:
    server = InProcessServer(Config(data_dir=tmp_path_factory.mktemp("rescale-mock-pg"),
                                    database=rescale_mock_postgres_url, validate_responses=True, clock_mode="manual",
                                    execute="opt-in"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def rescale_mock_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    process = ServedProcess(tmp_path_factory.mktemp("rescale-mock-served"), (),
                            "--validate-responses", "--clock-mode", "manual", "--execute", "opt-in")
    yield process
    process.close()


def _tenant_fake(request: pytest.FixtureRequest, base_url: str, mode: str, backend: object = None) -> Iterator[Fake]:
    key = Control(base_url).create_tenant()["apiKey"]
    fake = Fake(base_url, key, Control(base_url, key), mode, backend)
    for marker in reversed(list(request.node.iter_markers("rescale_catalog"))):
        entries = marker.args[0] if marker.args else marker.kwargs.get("entries")
        if entries:
            fake.control.add_catalog(entries)
        if marker.kwargs.get("mode"):
            fake.control.settings(catalogMode=marker.kwargs["mode"])
    if request.node.get_closest_marker("rescale_mock_execute"):
        fake.control.set_execute(True)
    yield fake
    fake.control.reset()


def _no_violations(found: list[str]) -> None:
    assert not found, "responses violated the spec:\n" + "\n".join(found)


@pytest.fixture
def rescale_mock(request: pytest.FixtureRequest, rescale_mock_server: InProcessServer) -> Iterator[Fake]:
    violations = rescale_mock_server.backend.violations
    violations.clear()
    yield from _tenant_fake(request, rescale_mock_server.base_url, "inprocess", rescale_mock_server.backend)
    _no_violations(list(violations))


@pytest.fixture
def rescale_mock_postgres(request: pytest.FixtureRequest,
                          rescale_mock_postgres_server: InProcessServer) -> Iterator[Fake]:
    violations = rescale_mock_postgres_server.backend.violations
    violations.clear()
    yield from _tenant_fake(request, rescale_mock_postgres_server.base_url, "postgres",
                            rescale_mock_postgres_server.backend)
    _no_violations(list(violations))


@pytest.fixture
def rescale_mock_served(request: pytest.FixtureRequest, rescale_mock_process: ServedProcess) -> Iterator[Fake]:
    seen = len(rescale_mock_process.output)
    yield from _tenant_fake(request, rescale_mock_process.base_url, "served")
    _no_violations([line for line in rescale_mock_process.output[seen:] if "violates the spec" in line])
