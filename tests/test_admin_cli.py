"""`rescale-mock reset | clock | tenants | faults | journal` against a served fake: each a thin call of the control
plane, scoped to the test's tenant with `--key`."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests

from rescale_mock.testing import Fake

RESCALE_MOCK = str(Path(sys.executable).parent / "rescale-mock")


@pytest.fixture
def fake(rescale_mock_served: Fake) -> Fake:
    return rescale_mock_served


def admin(fake: Fake, *args: str, key: str | None = "tenant") -> subprocess.CompletedProcess[str]:
    argv = [RESCALE_MOCK, *args, "--url", fake.base_url]
    if key is not None:
        argv += ["--key", fake.api_key if key == "tenant" else key]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def answer(result: subprocess.CompletedProcess[str]) -> object:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def moment(clock: object) -> datetime:
    assert isinstance(clock, dict)
    return datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))


def test_clock_show_mode_and_advance(fake: Fake) -> None:
    shown = answer(admin(fake, "clock", "show"))
    assert isinstance(shown, dict) and shown["mode"] == "manual"
    moved = answer(admin(fake, "clock", "advance", "90"))
    assert (moment(moved) - moment(shown)).total_seconds() == pytest.approx(90, abs=1)
    changed = answer(admin(fake, "clock", "mode", "scaled", "--factor", "120"))
    assert isinstance(changed, dict) and changed["mode"] == "scaled" and changed["factor"] == 120
    assert fake.control.clock()["mode"] == "scaled"  # the tenant's clock, as the control plane reports it


def test_tenants_add_makes_a_working_key(fake: Fake) -> None:
    created = answer(admin(fake, "tenants", "add", "--api-key", "cli-made-key-0001", key=None))
    assert isinstance(created, dict) and created["apiKey"] == "cli-made-key-0001"
    me = requests.get(fake.url("/api/v2/users/me/"), headers={"Authorization": "Token cli-made-key-0001"},
                      timeout=30)
    assert me.status_code == 200
    again = answer(admin(fake, "tenants", "add", "--api-key", "cli-made-key-0001", key=None))
    assert again == created  # the same answer for a known key: the control plane is no key oracle
    requests.post(fake.url("/_fake/reset/"), headers={"Authorization": "Token cli-made-key-0001"}, json={},
                  timeout=30)


def test_faults_add_list_clear(fake: Fake) -> None:
    rule = answer(admin(fake, "faults", "add", "--action", "status", "--status", "503", "--method", "GET",
                        "--path", "/api/v2/users/me/", "--times", "1", "--retry-after", "2"))
    assert isinstance(rule, dict) and rule["status"] == 503 and rule["times"] == 1 and rule["retryAfter"] == 2
    listed = answer(admin(fake, "faults", "list"))
    assert isinstance(listed, list) and [r["id"] for r in listed] == [rule["id"]]
    hit = requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30)
    assert hit.status_code == 503 and hit.headers["Retry-After"] == "2"
    other = answer(admin(fake, "faults", "add", "--action", "latency", "--latency-ms", "1"))
    assert isinstance(other, dict) and admin(fake, "faults", "delete", str(other["id"])).returncode == 0
    remaining = answer(admin(fake, "faults", "list"))
    assert isinstance(remaining, list) and other["id"] not in [r["id"] for r in remaining]
    second = answer(admin(fake, "faults", "add", "--action", "drop", "--after-bytes", "3"))
    assert isinstance(second, dict) and second["afterBytes"] == 3
    cleared = admin(fake, "faults", "clear")
    assert cleared.returncode == 0 and answer(admin(fake, "faults", "list")) == []
    bad = admin(fake, "faults", "add", "--action", "status", "--status", "200")
    assert bad.returncode == 1 and "400" in bad.stderr  # the control plane's own validation, passed on


def test_journal_lists_and_clears_requests(fake: Fake) -> None:
    requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers, timeout=30)
    page = answer(admin(fake, "journal", "--operation-id", "getCurrentUser"))
    assert isinstance(page, dict) and page["results"][0]["path"] == "/api/v2/users/me/"
    assert admin(fake, "journal", "--clear").returncode == 0
    after = answer(admin(fake, "journal", "--operation-id", "getCurrentUser"))
    assert isinstance(after, dict) and after["results"] == []


def test_reset_forgets_the_tenants_files(fake: Fake) -> None:
    requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers, files={"file": ("a.txt", b"a")},
                  timeout=30)
    result = admin(fake, "reset")
    assert result.returncode == 0 and "reset tenant" in result.stdout
    files = requests.get(fake.url("/api/v2/files/"), headers=fake.headers, timeout=30).json()
    assert files["count"] == 0


def test_errors_exit_1_with_a_message(fake: Fake) -> None:
    unknown = admin(fake, "clock", "show", key="not-a-tenant")
    assert unknown.returncode == 1 and "401" in unknown.stderr
    unreachable = subprocess.run([RESCALE_MOCK, "reset", "--url", "http://127.0.0.1:9"], capture_output=True,
                                 text=True, timeout=60)
    assert unreachable.returncode == 1 and "cannot reach http://127.0.0.1:9" in unreachable.stderr
    assert "Traceback" not in unknown.stderr + unreachable.stderr
    for argv in (["clock", "advance", "nan"], ["faults", "add", "--action", "status", "--probability", "inf"]):
        odd = admin(fake, *argv)
        assert odd.returncode == 1 and "cannot send that" in odd.stderr and "Traceback" not in odd.stderr
    not_text = subprocess.run([RESCALE_MOCK, "clock", "show", "--url", fake.base_url, "--key",
                               b"\xff".decode("utf-8", "surrogateescape")], capture_output=True, timeout=60)
    assert not_text.returncode == 1 and b"cannot send that" in not_text.stderr
    usage = subprocess.run([RESCALE_MOCK, "clock", "mode", "sideways"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr
