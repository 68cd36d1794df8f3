"""All state lives in the store (issue 18): two apps over one data dir (as two worker processes of one server would
be) see one fake. The first app holds the data dir like `rescale-mock serve`; the second joins it with
`Config(shared_store=True)`, without the server lock. Requests alternate between them through Flask's test client,
which runs the whole WSGI stack (fault rules and journal included)."""
from __future__ import annotations

import io
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from rescale_mock.app import create_app
from rescale_mock.config import Config
from rescale_mock.store.datadir import DataDirError

KEY = "shared-state-key-0123456789abcdef"
OTHER_KEY = "shared-state-other-0123456789abcdef"
AUTH = {"Authorization": f"Token {KEY}"}
OTHER = {"Authorization": f"Token {OTHER_KEY}"}
COMPLETED_AT, STOPPED_AT = 70.0, 111.0  # a default job's life (see test_jobs_scenarios.py)


def _app(data_dir: Path, shared: bool, **options: Any) -> Flask:
    return create_app(Config(data_dir=data_dir, api_keys=(KEY, OTHER_KEY), clock_mode="manual",
                             validate_responses=True, shared_store=shared, **options))


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    first = _app(tmp_path, shared=False)
    second = _app(tmp_path, shared=True)
    yield first.test_client(), second.test_client()
    for app in (second, first):
        app.extensions["rescale_mock"].close()


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _control(client: FlaskClient, method: str, path: str, body: Any = None, tenant: dict[str, str] | None = AUTH,
             status: int = 200) -> Any:
    response = client.open(f"/_fake/{path}", method=method, json=body if body is not None else
                           ({} if method in ("POST", "PUT") else None), headers=tenant or {})
    return _json(response, status) if status != 204 else None


def _upload(client: FlaskClient, headers: dict[str, str] = AUTH) -> str:
    response = client.post("/api/v2/files/contents/", headers=headers,
                           data={"file": (io.BytesIO(b"hello\n"), "input.txt")}, content_type="multipart/form-data")
    return str(_json(response, 201)["id"])


def _create_job(client: FlaskClient) -> str:
    body = {"name": "job", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"},
                                            "command": "echo hello",
                                            "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}
    return str(_json(client.post("/api/v2/jobs/", json=body, headers=AUTH), 201)["id"])


def _last_status(client: FlaskClient, job_id: str) -> str:
    page = _json(client.get(f"/api/v2/jobs/{job_id}/statuses/", headers=AUTH))
    return str(page["results"][0]["status"])


# -- fault rules ---------------------------------------------------------------------------------------------------
def test_a_fault_with_times_3_fires_three_times_across_both_apps(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    rule = _control(first, "POST", "faults/", {"action": "status", "status": 503, "path": "/api/v2/users/me/",
                                               "times": 3}, status=201)
    codes = [(first if i % 2 else second).get("/api/v2/users/me/", headers=AUTH).status_code for i in range(8)]
    assert codes == [503, 503, 503, 200, 200, 200, 200, 200]
    [listed] = _control(second, "GET", "faults/")
    assert (listed["id"], listed["times"], listed["fired"]) == (rule["id"], 0, 3)
    journal = _control(first, "GET", "journal/")["results"]
    assert sum(e["fault"] == rule["id"] for e in journal) == 3


def test_a_fault_counted_down_by_concurrent_requests_still_fires_exactly_times(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    _control(second, "POST", "faults/", {"action": "status", "status": 429, "path": "/api/v2/users/me/", "times": 5},
             status=201)
    codes: list[int] = []
    lock = threading.Lock()

    def hammer(app_client: FlaskClient) -> None:
        for _ in range(10):
            code = app_client.get("/api/v2/users/me/", headers=AUTH).status_code
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(codes) == 40 and codes.count(429) == 5 and codes.count(200) == 35


def test_probability_draws_repeat_for_a_seed_across_apps(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps

    def pattern() -> list[int]:
        _control(first, "DELETE", "faults/", status=204)
        _control(second, "POST", "seed/", {"seed": 11}, status=204)
        _control(first, "POST", "faults/", {"action": "status", "status": 503, "path": "/api/v2/users/me/",
                                            "probability": 0.5}, status=201)
        return [(first if i % 3 else second).get("/api/v2/users/me/", headers=AUTH).status_code for i in range(24)]

    once = pattern()
    assert 0 < once.count(503) < 24  # a coin, not a constant
    assert pattern() == once


# -- reset, clock, scenarios, settings -----------------------------------------------------------------------------
def test_a_reset_through_one_app_is_seen_by_the_other(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    _upload(first)
    _control(second, "POST", "faults/", {"action": "latency", "latencyMs": 0}, status=201)
    assert _json(first.get("/api/v2/files/", headers=AUTH))["count"] == 1
    _control(second, "POST", "reset/", status=204)
    assert _json(first.get("/api/v2/files/", headers=AUTH))["count"] == 0
    assert _control(first, "GET", "faults/") == []
    journal = _control(first, "GET", "journal/")["results"]
    assert [e["operationId"] for e in journal] == ["listFiles"]  # only what came after the reset


def test_a_server_wide_reset_clears_every_tenant_everywhere(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    _upload(first, OTHER)
    _control(first, "POST", "clock/advance/", {"seconds": 3600}, tenant=None)
    _control(second, "POST", "reset/", tenant=None, status=204)
    assert _json(first.get("/api/v2/files/", headers=OTHER))["count"] == 0
    assert _control(first, "GET", "journal/", tenant=None)["count"] == 1  # the listing just made


def test_the_clock_advanced_through_one_app_is_seen_by_the_other(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    before = _control(second, "GET", "clock/")
    after = _control(first, "POST", "clock/advance/", {"seconds": 3600})
    assert _control(second, "GET", "clock/")["now"] == after["now"] != before["now"]
    _control(second, "POST", "clock/advance/", {"seconds": 60})
    _control(first, "POST", "clock/advance/", {"seconds": 60})  # both count: each reads the stored clock
    def parse(now: str) -> datetime:
        return datetime.fromisoformat(now.replace("Z", "+00:00"))

    assert (parse(_control(first, "GET", "clock/")["now"]) - parse(before["now"])).total_seconds() == 3720


def test_clock_defaults_set_through_one_app_start_tenants_made_through_the_other(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    _control(first, "PUT", "clock/", {"mode": "poll"}, tenant=None)
    assert _control(second, "GET", "clock/", tenant=None)["mode"] == "poll"
    made = _control(second, "POST", "tenants/", status=201)
    assert _control(first, "GET", "clock/", tenant={"Authorization": f"Token {made['apiKey']}"})["mode"] == "poll"


@pytest.mark.parametrize("tenant", [AUTH, None], ids=["tenant", "server-wide"])
def test_a_scenario_set_through_one_app_ends_a_job_made_through_the_other(
        apps: tuple[FlaskClient, FlaskClient], tenant: dict[str, str] | None) -> None:
    first, second = apps
    _control(first, "PUT", "scenario/", {"outcome": "force_stop"}, tenant=tenant)
    job_id = _create_job(second)
    assert second.post(f"/api/v2/jobs/{job_id}/submit/", headers=AUTH).status_code == 200
    _control(first, "POST", "clock/advance/", {"seconds": STOPPED_AT + 1})
    assert _last_status(second, job_id) == "Force Stop"


def test_settings_catalog_and_ssh_keys_changed_through_one_app_hold_in_the_other(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    _control(first, "PUT", "settings/", {"v2CoreType": "object"}, tenant=None)
    assert _control(second, "GET", "settings/", tenant=None)["v2CoreType"] == "object"
    assert _control(second, "GET", "settings/")["v2CoreType"] == "object"  # the tenant's default
    before = _control(second, "GET", "catalog/", tenant=None)["coreTypes"]
    entry = {"coreTypes": [{"code": "shared-core", "name": "Shared"}]}
    _control(first, "POST", "catalog/", entry, tenant=None)
    assert _control(second, "GET", "catalog/", tenant=None)["coreTypes"] == before + 1
    codes = [c["code"] for c in _json(second.get("/api/v2/coretypes/?page_size=1000", headers=AUTH))["results"]]
    assert "shared-core" in codes
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnz7FKx7Xn9M1+4rwkXv8LJQO0k2r3mY0v6c5R7q1bZ test"
    _control(first, "PUT", "ssh-keys/", {"publicKeys": [key]}, tenant=None)
    assert _control(second, "GET", "ssh-keys/", tenant=None)["publicKeys"] == [key]


# -- journal and ids -------------------------------------------------------------------------------------------------
def test_journal_entries_from_both_apps_are_found_through_either(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    first.get("/api/v2/users/me/", headers=AUTH)
    second.get("/api/v2/coretypes/", headers=AUTH)
    first.get("/api/v2/files/", headers=AUTH)
    for client in apps:
        found = _control(client, "GET", "journal/")["results"]
        assert [e["operationId"] for e in found] == ["listFiles", "listCoreTypes", "getCurrentUser"]
        assert [e["id"] for e in found] == sorted((e["id"] for e in found), reverse=True)  # newest first
    assert [e["operationId"] for e in _control(second, "GET", "journal/?operationId=getCurrentUser")["results"]] == [
        "getCurrentUser"]
    newest = found[0]["id"]
    _control(second, "DELETE", "journal/", status=204)
    assert _control(first, "GET", "journal/")["results"] == []
    _control(first, "DELETE", "journal/", tenant=None, status=204)
    first.get("/api/v2/users/me/", headers=AUTH)
    [entry] = _control(second, "GET", "journal/")["results"]
    assert entry["id"] > newest  # ids never go back, even after the journal was emptied


def test_the_journal_keeps_the_newest_entries_only(tmp_path: Path) -> None:
    first, second = _app(tmp_path, False, journal_size=5), _app(tmp_path, True, journal_size=5)
    try:
        for i in range(150):
            (first if i % 2 else second).test_client().get("/api/v2/users/me/", headers=AUTH)
        found = _control(first.test_client(), "GET", "journal/")["results"]
        assert len(found) == 5 and len({e["id"] for e in found}) == 5
        db = first.extensions["rescale_mock"].db
        assert db.one("SELECT COUNT(*) AS n FROM journal")["n"] <= 5 + 2 * 64  # trimmed as it goes
    finally:
        for app in (second, first):
            app.extensions["rescale_mock"].close()


def test_seeded_ids_repeat_whichever_app_draws_them(apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps

    def draw() -> list[str]:
        _control(second, "POST", "reset/", status=204)
        _control(first, "POST", "seed/", {"seed": 5}, status=204)
        return [_upload(first), _upload(second), _upload(first), _create_job(second)]

    ids = draw()
    assert len(set(ids)) == 4
    assert draw() == ids
    _control(second, "POST", "reset/", status=204)
    _control(second, "POST", "seed/", {"seed": 5}, status=204)
    assert [_upload(second), _upload(first), _upload(second)] == ids[:3]  # the sequence, not the app, decides


def test_a_server_seed_given_at_start_is_shared(tmp_path: Path) -> None:
    def ids(data_dir: Path) -> list[str]:
        first, second = _app(data_dir, False, seed=3), _app(data_dir, True, seed=3)
        try:
            made = [_control(c.test_client(), "POST", "tenants/", tenant=None, status=201)["id"]
                    for c in (first, second, first)]
        finally:
            for app in (second, first):
                app.extensions["rescale_mock"].close()
        return made

    made = ids(tmp_path / "a")
    assert len(set(made)) == 3 and ids(tmp_path / "b") == made


# -- the data dir ---------------------------------------------------------------------------------------------------
def test_a_shared_store_takes_no_lock_but_a_second_server_is_still_refused(tmp_path: Path) -> None:
    first, second = _app(tmp_path, False), _app(tmp_path, True)
    try:
        with pytest.raises(DataDirError, match="in use"):
            _app(tmp_path, False)
    finally:
        for app in (second, first):
            app.extensions["rescale_mock"].close()


# -- two real processes ------------------------------------------------------------------------------------------------
def test_a_served_process_and_an_app_joining_its_store_are_one_fake(tmp_path: Path) -> None:
    """`rescale-mock serve` in a child process holds the data dir; an app in this process joins its store."""
    import requests

    from rescale_mock.testing import ServedProcess

    served = ServedProcess(tmp_path, (KEY,), "--clock-mode", "manual")
    joined = _app(tmp_path, shared=True)
    try:
        here, there = joined.test_client(), served.base_url
        rule = _control(here, "POST", "faults/", {"action": "status", "status": 503, "path": "/api/v2/users/me/",
                                                  "times": 3}, status=201)
        codes = [requests.get(f"{there}/api/v2/users/me/", headers=AUTH, timeout=10).status_code if i % 2 else
                 here.get("/api/v2/users/me/", headers=AUTH).status_code for i in range(6)]
        assert codes == [503, 503, 503, 200, 200, 200]
        advanced = requests.post(f"{there}/_fake/clock/advance/", json={"seconds": 600}, headers=AUTH, timeout=10)
        assert _control(here, "GET", "clock/")["now"] == advanced.json()["now"]
        journal = requests.get(f"{there}/_fake/journal/", headers=AUTH, timeout=10).json()["results"]
        assert [e["fault"] for e in journal] == [None, None, None, rule["id"], rule["id"], rule["id"]]
        file_id = _upload(here)
        assert requests.get(f"{there}/api/v2/files/{file_id}/", headers=AUTH, timeout=10).status_code == 200
        assert requests.post(f"{there}/_fake/reset/", json={}, headers=AUTH, timeout=10).status_code == 204
        assert here.get(f"/api/v2/files/{file_id}/", headers=AUTH).status_code == 404
    finally:
        joined.extensions["rescale_mock"].close()
        served.close()
