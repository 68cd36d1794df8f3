"""Schemathesis over every operation of both specs, in-process (WSGI), with all checks, positive and negative
data, and the stateful phase following the specs' links. The fake also validates its own responses.

Example counts follow the hypothesis profile (see tests/conftest.py: `dev` by default, `ci` when CI is set).
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from rescale_mock import Config, create_app
from rescale_mock.spec import spec_dir

KEY = "contract-tenant-key-0001"
OTHER_KEY = "contract-tenant-key-0002"

# Valid by the schema yet refused by the fake for reasons the schema cannot state (the catalog, other objects,
# the object's state): a 400 with a Rescale-style body is the right answer there, so the check is told so.
STATEFUL_OR_CATALOG = [
    "createJob", "createJobV3", "updateJob", "deleteJob", "deleteJobV3", "createCluster", "startCluster",
    "stopCluster", "submitJobToCluster", "submitJobToClusterUnversioned", "getFileLines", "uploadFile",
    "uploadFilePut", "updateFile", "submitJob", "submitJobV3", "getFileLinesV3", "uploadFileV3", "uploadFilePutV3",
    "updateFileV3", "createStorageDevice", "submitStorageDevice", "submitStorageDeviceV3", "shutdownStorageDevice",
    "shutdownStorageDeviceV3", "downloadFilesToStorageDevice", "downloadFilesToStorageDeviceV3",
    "attachStorageDevice", "attachStorageDeviceV3",
]
ACCEPT_400 = {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}}}
# Multipart: every part travels as bytes, so a "negative" upload (say, a `file` that is a number) reaches the server
# as a valid form and the violation is lost in encoding. The server does check what it can see (a missing `file`
# part, a bad `typeId`: tests/test_files.py).
MULTIPART = ["uploadFile", "uploadFilePut", "uploadFileV3", "uploadFilePutV3"]
NO_NEGATIVE = {"checks": {"negative_data_rejection": {"enabled": False}}}


OPERATIONS = [{"include-operation-id": STATEFUL_OR_CATALOG, **ACCEPT_400},
              {"include-operation-id": MULTIPART, **NO_NEGATIVE}]


def _config(token: str | None) -> SchemathesisConfig:
    raw: dict = {"operations": OPERATIONS}
    if token:
        raw["auth"] = {"openapi": {"TokenAuth": {"api_key": f"Token {token}"}}}
    return SchemathesisConfig.from_dict(raw)


app = create_app(Config(api_keys=(KEY, OTHER_KEY), validate_responses=True, clock_mode="manual",
                        journal_size=200_000))
backend = app.extensions["rescale_mock"]

rescale = schemathesis.openapi.from_path(str(spec_dir() / "rescale.yaml"), config=_config(KEY))
rescale.app = app
# The control plane gets an app of its own: its server-wide reset would empty the journal checked below.
control_app = create_app(Config(api_keys=(KEY,), validate_responses=True, clock_mode="manual"))
control = schemathesis.openapi.from_path(str(spec_dir() / "control.yaml"), config=_config(None))
control.app = control_app

def operations_without_ids() -> list[str]:
    from rescale_mock.spec import rescale_spec

    return [op.id for op in rescale_spec().operations.values() if op.method == "GET" and "{" not in op.path]


RELAXED = settings(deadline=None, suppress_health_check=list(HealthCheck))


@rescale.parametrize()
@RELAXED
def test_rescale_api(case: schemathesis.Case) -> None:
    case.call_and_validate()


@control.parametrize()
@RELAXED
def test_control_plane(case: schemathesis.Case) -> None:
    case.call_and_validate()


class RescaleWorkflow(rescale.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        backend.reset()


TestRescaleWorkflow = RescaleWorkflow.TestCase
TestRescaleWorkflow.settings = settings(RELAXED, stateful_step_count=6)


def test_no_response_violated_the_spec() -> None:
    assert backend.violations == [] and control_app.extensions["rescale_mock"].violations == []


def test_requests_were_authenticated() -> None:
    """Guards against a silent auth misconfiguration (everything 401) passing the checks above: every operation
    that needs no existing object answered 2xx at least once."""
    succeeded = {e.operation_id for e in backend.journal.find(None) if e.status and e.status < 300}
    assert set(operations_without_ids()) - succeeded == set()

