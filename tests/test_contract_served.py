"""`st run` (schemathesis' CLI) against a `rescale-mock serve` process, as a user would run it: all checks, all
phases, and two tenants as Web Fuzzing Commons identities, so object_level_authorization replays one tenant's reads
as the other (who must get 404s). Configured exactly like tests/test_contract.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rescale_mock.testing import ServedProcess

from .contract_config import ACCEPT_400, MULTIPART, NO_NEGATIVE, SPEC_DIR, STATEFUL_OR_CATALOG

KEYS = {"alice": "served-contract-key-0001", "bob": "served-contract-key-0002"}
EXAMPLES = "40" if os.environ.get("CI") else "10"


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _config(identities: Path) -> str:
    accept = _toml_list(ACCEPT_400["checks"]["positive_data_acceptance"]["expected-statuses"])
    assert NO_NEGATIVE == {"checks": {"negative_data_rejection": {"enabled": False}}}
    return f"""
[auth.wfc]
path = "{identities}"
user = "alice"
peers = ["alice", "bob"]

[[operations]]
include-operation-id = {_toml_list(STATEFUL_OR_CATALOG)}
checks.positive_data_acceptance.expected-statuses = {accept}

[[operations]]
include-operation-id = {_toml_list(MULTIPART)}
checks.negative_data_rejection.enabled = false
"""


@pytest.mark.served
@pytest.mark.slow
def test_st_run_against_a_served_fake(tmp_path: Path) -> None:
    identities = tmp_path / "identities.json"
    identities.write_text(json.dumps({"schemaVersion": "1.0", "auth": [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Token {key}"}]}
        for name, key in KEYS.items()]}))
    (tmp_path / "schemathesis.toml").write_text(_config(identities))
    served = ServedProcess(tmp_path / "data", tuple(KEYS.values()), "--validate-responses", "--clock-mode", "manual")
    try:
        st = Path(sys.executable).with_name("st")
        done = subprocess.run(
            [str(st), "--config-file", str(tmp_path / "schemathesis.toml"), "run", str(SPEC_DIR / "rescale.yaml"),
             "--url", served.base_url, "--checks", "all", "-n", EXAMPLES, "--seed", "1",
             "--generation-database", "none", "--no-color"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )
    finally:
        served.close()
    server_errors = [line for line in served.output if "Error" in line or "Traceback" in line or "  File" in line]
    report = done.stdout[-6000:] + done.stderr[-2000:] + "\nserver:\n" + "".join(server_errors[-40:])
    assert done.returncode == 0, report
    assert "violates the spec" not in "".join(served.output)
