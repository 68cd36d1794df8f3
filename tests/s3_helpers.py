"""The S3 twins of end-to-end tests (see `twins` in conftest.py): moto's S3 server on a free loopback port (one per
session) and the fake with `--blobs s3://BUCKET/PREFIX --s3-endpoint-url URL`, in this process (`s3`) and as a
`rescale-mock serve` process (`s3-served`). moto and boto3 are test dependencies: without them the suite fails at
import, never skips."""
from __future__ import annotations

from typing import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from rescale_mock.config import Config
from rescale_mock.pytest_plugin import _no_violations, _tenant_fake
from rescale_mock.testing import Fake, InProcessServer, ServedProcess

BUCKET = "rescale-mock-blobs"
# moto accepts any credentials; boto3 needs some. The served process gets them through its environment.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    patch = pytest.MonkeyPatch()
    for name, value in CREDENTIALS.items():
        patch.setenv(name, value)
    patch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    s3_client(url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()
    patch.undo()


def s3_client(endpoint: str) -> object:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def s3_options(endpoint: str, prefix: str) -> tuple[str, ...]:
    return ("--blobs", f"s3://{BUCKET}/{prefix}", "--s3-endpoint-url", endpoint)


@pytest.fixture(scope="session")
def rescale_mock_s3_server(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    server = InProcessServer(Config(data_dir=tmp_path_factory.mktemp("rescale-mock-s3"), validate_responses=True,
                                    clock_mode="manual", execute="opt-in", blobs=f"s3://{BUCKET}/inprocess",
                                    s3_endpoint_url=s3_endpoint))
    yield server
    server.close()


@pytest.fixture(scope="session")
def rescale_mock_s3_process(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    process = ServedProcess(tmp_path_factory.mktemp("rescale-mock-s3-served"), (), "--validate-responses",
                            "--clock-mode", "manual", "--execute", "opt-in", *s3_options(s3_endpoint, "served"),
                            env=CREDENTIALS)
    yield process
    process.close()


@pytest.fixture
def rescale_mock_s3(request: pytest.FixtureRequest, rescale_mock_s3_server: InProcessServer) -> Iterator[Fake]:
    """The in-process fake with its blobs in moto's S3 (prefix `inprocess/`)."""
    violations = rescale_mock_s3_server.backend.violations
    violations.clear()
    yield from _tenant_fake(request, rescale_mock_s3_server.base_url, "inprocess", rescale_mock_s3_server.backend)
    _no_violations(list(violations))


@pytest.fixture
def rescale_mock_s3_served(request: pytest.FixtureRequest, rescale_mock_s3_process: ServedProcess) -> Iterator[Fake]:
    """A `rescale-mock serve --blobs s3://...` process (prefix `served/`)."""
    seen = len(rescale_mock_s3_process.output)
    yield from _tenant_fake(request, rescale_mock_s3_process.base_url, "served")
    _no_violations([line for line in rescale_mock_s3_process.output[seen:] if "violates the spec" in line])
