"""Schemathesis over every operation of both specs, in-process (WSGI), with all checks, positive and negative
data, and the stateful phase following the specs' links. The fake also validates its own responses.

Example counts follow the hypothesis profile (see tests/conftest.py: `dev` by default, `ci` when CI is set).
"""
from __future__ import annotations

from typing import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from rescale_mock import Config, create_app

from .contract_config import ACCEPT_400, MULTIPART, NO_NEGATIVE, REJECT_413, SPEC_DIR, STATEFUL_OR_CATALOG


KEY = "contract-tenant-key-0001"
OTHER_KEY = "contract-tenant-key-0002"

OPERATIONS = [{"include-operation-id": STATEFUL_OR_CATALOG, **ACCEPT_400},
              {"include-operation-id": MULTIPART, **NO_NEGATIVE}]


def _config(token: str | None) -> SchemathesisConfig:
    raw: dict = {"operations": OPERATIONS, **REJECT_413}
    if token:
        raw["auth"] = {"openapi": {"TokenAuth": {"api_key": f"Token {token}"}}}
    return SchemathesisConfig.from_dict(raw)


app = create_app(Config(api_keys=(KEY, OTHER_KEY), validate_responses=True, clock_mode="manual",
                        journal_size=200_000))
backend = app.extensions["rescale_mock"]

rescale = schemathesis.openapi.from_path(str(SPEC_DIR / "rescale.yaml"), config=_config(KEY))
rescale.app = app
# The control plane gets an app of its own: its server-wide reset would empty the journal checked below.
control_app = create_app(Config(api_keys=(KEY,), validate_responses=True, clock_mode="manual"))
control = schemathesis.openapi.from_path(str(SPEC_DIR / "control.yaml"), config=_config(None))
control.app = control_app

def operations_without_ids() -> list[str]:
    from rescale_mock.spec import rescale_spec

    return [op.id for op in rescale_spec().operations.values() if op.method == "GET" and "{" not in op.path]


RELAXED = settings(deadline=None, suppress_health_check=list(HealthCheck))
EXERCISED: set[str] = set()  # operations test_rescale_api ran in this process


@pytest.fixture(scope="module")
def requests_were_authenticated() -> Iterator[None]:
    """Guards against a silent auth misconfiguration (everything 401) passing the checks: every operation run here
    that needs no existing object answered 2xx at least once. Checked once its tests are over, whatever ran."""
    yield
    succeeded = {e.operation_id for e in backend.journal.find(None) if e.status and e.status < 300}
    assert (EXERCISED & set(operations_without_ids())) - succeeded == set()


def _no_violations(found: list[str]) -> None:
    """The fake validates its own responses; a violation fails the case that caused it."""
    violations, found[:] = list(found), []
    assert violations == []


@rescale.parametrize()
@RELAXED
def test_rescale_api(case: schemathesis.Case, requests_were_authenticated: None) -> None:
    EXERCISED.add(case.operation.definition.raw["operationId"])
    case.call_and_validate()
    _no_violations(backend.violations)


@control.parametrize()
@RELAXED
def test_control_plane(case: schemathesis.Case) -> None:
    case.call_and_validate()
    _no_violations(control_app.extensions["rescale_mock"].violations)


class RescaleWorkflow(rescale.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        backend.reset()


TestRescaleWorkflow = RescaleWorkflow.TestCase
TestRescaleWorkflow.settings = settings(RELAXED, stateful_step_count=6)
