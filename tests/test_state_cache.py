"""Per-process caches of the store's state (store/state.py StateCache: tenants, server settings, whether a fault rule
is live) are checked against the state version on every request: a change made through one app is seen by the very
next request through another app over the same store, although both have the old value cached. Two apps over one
store stand for two worker processes; on SQLite and on PostgreSQL."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from rescale_mock.app import create_app
from rescale_mock.config import Config
from rescale_mock.store.engines import open_database
from rescale_mock.testing_postgres import schema_of_its_own

KEY = "state-cache-key-0123456789abcdef"
AUTH = {"Authorization": f"Token {KEY}"}
JOB = {"name": "job", "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
                                       "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def apps(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    def pair(database: str | None) -> Iterator[tuple[FlaskClient, FlaskClient]]:
        made = [create_app(Config(data_dir=tmp_path, database=database, api_keys=(KEY,), clock_mode="manual",
                                  validate_responses=True, shared_store=shared)) for shared in (False, True)]
        try:
            yield made[0].test_client(), made[1].test_client()
        finally:
            for app in reversed(made):
                app.extensions["rescale_mock"].close()

    if request.param == "sqlite":
        yield from pair(None)
    else:
        with schema_of_its_own(request.getfixturevalue("rescale_mock_postgres_url")) as url:
            yield from pair(url)


def _json(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _status(client: FlaskClient) -> int:
    return int(client.get("/api/v2/users/me/", headers=AUTH).status_code)


def test_a_fault_armed_spent_or_removed_through_one_app_holds_at_once_in_the_other(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    assert (_status(first), _status(second)) == (200, 200)  # both have "no rule is live" cached
    rule = _json(first.post("/_fake/faults/", json={"action": "status", "status": 503, "path": "/api/v2/users/me/"},
                            headers=AUTH), 201)
    assert (_status(second), _status(first)) == (503, 503)
    assert first.delete(f"/_fake/faults/{rule['id']}/", headers=AUTH).status_code == 204
    assert (_status(second), _status(first)) == (200, 200)
    _json(second.post("/_fake/faults/", json={"action": "status", "status": 429, "path": "/api/v2/users/me/",
                                              "times": 1}, headers=AUTH), 201)
    assert (_status(first), _status(second), _status(first)) == (429, 200, 200)  # spent in one, gone in both


def test_a_server_setting_changed_through_one_app_holds_at_once_in_the_other(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    job_id = _json(first.post("/api/v2/jobs/", json=JOB, headers=AUTH), 201)["id"]

    def core_type(client: FlaskClient) -> Any:
        return _json(client.get(f"/api/v2/jobs/{job_id}/", headers=AUTH))["jobanalyses"][0]["hardware"]["coreType"]

    assert core_type(first) == core_type(second) == "granite"
    _json(second.put("/_fake/settings/", json={"v2CoreType": "object"}))
    assert isinstance(core_type(first), dict)
    _json(first.put("/_fake/settings/", json={"v2CoreType": "string"}))
    assert core_type(second) == "granite"


def test_a_tenant_clock_changed_through_one_app_holds_at_once_in_the_other(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = apps
    job_id = _json(first.post("/api/v2/jobs/", json=JOB, headers=AUTH), 201)["id"]
    assert second.post(f"/api/v2/jobs/{job_id}/submit/", headers=AUTH).status_code == 200

    def status(client: FlaskClient) -> str:
        return str(_json(client.get(f"/api/v2/jobs/{job_id}/statuses/", headers=AUTH))["results"][0]["status"])

    before = (status(first), status(second))
    assert before[0] == before[1] != "Completed"
    _json(second.post("/_fake/clock/advance/", json={"seconds": 3600}, headers=AUTH))
    assert status(first) == "Completed"
    settings = _json(first.put("/_fake/settings/", json={"v2CoreType": "object"}, headers=AUTH))
    assert settings["v2CoreType"] == "object"
    hardware = _json(second.get(f"/api/v2/jobs/{job_id}/", headers=AUTH))["jobanalyses"][0]["hardware"]
    assert isinstance(hardware["coreType"], dict)  # the tenant's own setting, changed through the other app


def test_a_change_made_inside_a_request_is_seen_by_the_rest_of_that_request(
        apps: tuple[FlaskClient, FlaskClient]) -> None:
    first, _second = apps
    assert _json(first.get("/_fake/settings/"))["v2CoreType"] == "string"  # cached
    assert _json(first.put("/_fake/settings/", json={"v2CoreType": "object"}))["v2CoreType"] == "object"


@pytest.mark.postgres
def test_postgres_journal_rows_skip_the_wal_flush_while_transactions_keep_the_servers_setting(
        rescale_mock_postgres_url: str, tmp_path: Path) -> None:
    """A journal row (`append`) is committed without waiting for the WAL flush; every transaction (the state that is
    acknowledged) commits with the server's own `synchronous_commit`, here made `on` for the session."""
    with schema_of_its_own(rescale_mock_postgres_url) as url:
        durable = url.replace("options=", "options=" + quote("-csynchronous_commit=on ", safe=""), 1)
        db = open_database(durable, tmp_path)
        try:
            with db.transaction() as conn:
                inside = conn.execute("SHOW synchronous_commit").fetchone()[0]
            outside = db.one("SHOW synchronous_commit")[0]
            db.append("INSERT INTO counters (name, value) VALUES (?, ?)", ("appended", 1))
            with db.transaction() as conn:
                after = conn.execute("SHOW synchronous_commit").fetchone()[0]
            assert (inside, outside, after) == ("on", "off", "on")
            assert db.one("SELECT value FROM counters WHERE name = ?", ("appended",))["value"] == 1
        finally:
            db.close()
