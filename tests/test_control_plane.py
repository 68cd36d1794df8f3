"""The fake's control plane under /_fake/ (openapi/control.yaml): tenants, reset, clock, faults and the journal."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import requests

import rescale_mock
from rescale_mock.domain import tenants as tenants_module
from rescale_mock.testing import Control, Fake


def control_call(fake: Fake, method: str, path: str, token: bool = True, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> requests.Response:
    """A raw control-plane request (Control._call raises on errors, these tests want to see them)."""
    headers = {**(fake.headers if token else {}), **(headers or {})}
    return requests.request(method, fake.url(f"/_fake/{path}"), headers=headers, timeout=30, **kwargs)


def me(fake: Fake) -> dict[str, Any]:
    return requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers).json()


def parse(now: str) -> datetime:
    return datetime.fromisoformat(now.replace("Z", "+00:00"))


# -- health and tenants ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [False, True])
def test_health(fake: Fake, token: bool) -> None:
    response = control_call(fake, "GET", "health/", token=token)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "tenants"}
    assert (body["status"], body["version"]) == ("ok", rescale_mock.__version__)
    assert body["tenants"] >= 1


def test_control_plane_rejects_an_unknown_key(fake: Fake) -> None:
    response = requests.get(fake.url("/_fake/clock/"), headers={"Authorization": "Token not-a-known-key-123"})
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_create_tenant_returns_a_working_key(fake: Fake) -> None:
    response = control_call(fake, "POST", "tenants/", token=False, json={})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "apiKey"}
    tenant = Fake(fake.base_url, created["apiKey"], Control(fake.base_url, created["apiKey"]), fake.mode)
    try:
        assert me(tenant)["id"] == created["id"]
        assert tenant.file_names() == []
    finally:
        tenant.control.reset()


def test_create_tenant_with_a_chosen_key(fake: Fake) -> None:
    key = f"chosen-key-{fake.api_key[:12]}"
    created = control_call(fake, "POST", "tenants/", token=False, json={"apiKey": key}).json()
    assert created["apiKey"] == key
    assert requests.get(fake.url("/api/v2/users/me/"), headers={"Authorization": f"Token {key}"}).status_code == 200
    again = control_call(fake, "POST", "tenants/", token=False, json={"apiKey": key})
    assert again.status_code == 201  # the same answer as for a new key: no oracle of existing keys
    assert again.json() == created


def test_health_counts_tenants(fake: Fake, other: Fake) -> None:
    before = control_call(fake, "GET", "health/").json()["tenants"]
    fake.control.create_tenant()
    assert control_call(fake, "GET", "health/").json()["tenants"] == before + 1


def test_health_counts_tenants_without_reading_their_settings(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: health parsed every tenant's settings just to count them; a COUNT query does."""
    if fake.backend is None:
        pytest.skip("watches the in-process backend")
    stored = fake.backend.db.one("SELECT COUNT(*) AS n FROM tenants")["n"]
    parsed: list[str] = []
    real_from_json = tenants_module.from_json
    monkeypatch.setattr(tenants_module, "from_json", lambda text: parsed.append(text) or real_from_json(text))
    assert control_call(fake, "GET", "health/", token=False).json()["tenants"] == stored
    assert parsed == []


# -- reset -------------------------------------------------------------------------------------------------------
def test_reset_with_a_tenant_token_empties_only_that_tenant(fake: Fake, other: Fake) -> None:
    fake.upload("mine.txt")
    other.upload("theirs.txt")
    assert control_call(fake, "POST", "reset/", json={}).status_code == 204
    assert fake.file_names() == []
    assert other.file_names() == ["theirs.txt"]
    assert me(fake)["id"]  # the key still works


def test_reset_clears_the_tenants_faults_and_journal(fake: Fake) -> None:
    fake.control.add_fault("status", path="/api/v2/coretypes/*", status=503)
    me(fake)
    fake.control.reset()
    assert control_call(fake, "GET", "faults/").json() == []
    assert fake.control.journal() == []
    assert requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers).status_code == 200


# -- clock -------------------------------------------------------------------------------------------------------
def test_clock_starts_manual_for_tests(fake: Fake) -> None:
    clock = fake.control.clock()
    assert set(clock) == {"mode", "factor", "now"}
    assert clock["mode"] == "manual"
    assert fake.control.clock()["now"] == clock["now"]  # manual time stands still


def test_advance_moves_now_by_exactly_that_many_seconds(fake: Fake) -> None:
    before = parse(fake.control.clock()["now"])
    after = fake.control.advance(600)
    assert after["mode"] == "manual"
    assert (parse(after["now"]) - before).total_seconds() == 600
    assert fake.control.clock() == after


def test_set_clock_round_trips(fake: Fake) -> None:
    now = fake.control.clock()["now"]
    changed = fake.control.set_clock(mode="poll", factor=5)
    assert (changed["mode"], changed["factor"], changed["now"]) == ("poll", 5, now)
    assert fake.control.clock() == changed
    back = fake.control.set_clock(mode="manual")
    assert (back["mode"], back["factor"], back["now"]) == ("manual", 5, now)


def test_clock_is_per_tenant(fake: Fake, other: Fake) -> None:
    theirs = other.control.clock()["now"]
    fake.control.advance(86400)
    assert other.control.clock()["now"] == theirs


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "clock/advance/", {"seconds": "abc"}, "seconds"),
    ("POST", "clock/advance/", {"seconds": -1}, "seconds"),
    ("POST", "clock/advance/", {}, "seconds"),
    ("PUT", "clock/", {"mode": "warp"}, "mode"),
    ("PUT", "clock/", {"factor": 0}, "factor"),
    ("POST", "seed/", {"seed": -1}, "seed"),
    ("POST", "seed/", {"seed": "x"}, "seed"),
    ("POST", "faults/", {}, "action"),
    ("POST", "faults/", {"action": "explode"}, "action"),
    ("POST", "faults/", {"action": "status", "status": 200}, "status"),
    ("POST", "faults/", {"action": "status", "times": 0}, "times"),
    ("POST", "faults/", {"action": "status", "probability": 2}, "probability"),
    ("POST", "tenants/", {"apiKey": "short"}, "apiKey"),
    ("POST", "tenants/", {"apiKey": "has spaces in it"}, "apiKey"),
])
def test_invalid_control_body_is_400_field_error(fake: Fake, method: str, path: str, body: dict, field: str) -> None:
    response = control_call(fake, method, path, json=body)
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert isinstance(errors[field], list) and all(isinstance(m, str) and m for m in errors[field])


def test_empty_clock_change_is_400(fake: Fake) -> None:
    response = control_call(fake, "PUT", "clock/", json={})
    assert response.status_code == 400
    assert isinstance(response.json(), dict) and response.json()


@pytest.mark.parametrize("path", ["clock/advance/", "faults/", "seed/"])
def test_non_json_control_body_is_415(fake: Fake, path: str) -> None:
    response = control_call(fake, "POST", path, data="seconds=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_malformed_json_control_body_is_400_detail(fake: Fake) -> None:
    response = control_call(fake, "POST", "clock/advance/", data="{nope",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# -- faults ------------------------------------------------------------------------------------------------------
def test_status_fault_429_with_retry_after_fires_once(fake: Fake) -> None:
    rule = fake.control.add_fault("status", method="GET", path="/api/v2/users/me/", status=429, retryAfter=1, times=1)
    assert rule["action"] == "status" and rule["times"] == 1 and rule["fired"] == 0
    first = requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {"detail": "Request was throttled. Expected available in 1 second."}
    second = requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers)
    assert second.status_code == 200
    assert second.json()["id"]
    [listed] = control_call(fake, "GET", "faults/").json()
    assert (listed["id"], listed["fired"], listed["times"]) == (rule["id"], 1, 0)


def test_status_fault_503(fake: Fake) -> None:
    fake.control.add_fault("status", path="/api/v2/coretypes/", status=503)
    for _ in range(2):  # unlimited without `times`
        response = requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers)
        assert response.status_code == 503
        assert response.json() == {"detail": "Service temporarily unavailable, try again later."}
        assert "Retry-After" not in response.headers


def test_latency_fault_shows_in_the_journal(fake: Fake) -> None:
    rule = fake.control.add_fault("latency", path="/api/v2/users/me/", latencyMs=50)
    assert me(fake)["id"]
    [entry] = fake.control.journal(operationId="getCurrentUser")
    assert entry["status"] == 200
    assert entry["fault"] == rule["id"]
    assert entry["durationMs"] >= 50


def test_drop_fault_breaks_the_download(fake: Fake) -> None:
    created = fake.upload("big.bin", b"z" * 200_000)
    fake.control.add_fault("drop", method="GET", path="/api/v2/files/*/contents/", afterBytes=1000, times=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        requests.get(created["downloadUrl"], headers=fake.headers).content
    assert requests.get(created["downloadUrl"], headers=fake.headers).content == b"z" * 200_000


def test_drop_fault_sends_the_real_status_and_headers_first(fake: Fake) -> None:
    created = fake.upload("big.bin", b"z" * 200_000)
    fake.control.add_fault("drop", path="/api/v2/files/*/contents/", afterBytes=1000, times=1)
    with requests.get(created["downloadUrl"], headers=fake.headers, stream=True) as response:
        assert response.status_code == 200
        assert response.headers["Content-Length"] == "200000"
        with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            response.content


def test_fault_path_glob_matches_only_its_paths(fake: Fake) -> None:
    fake.control.add_fault("status", path="/api/v2/coretypes/*", status=503)
    assert requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers).status_code == 503
    assert requests.get(fake.url("/api/v2/analyses/"), headers=fake.headers).status_code == 200
    assert requests.get(fake.url("/api/v3/coretypes/"), headers=fake.headers).status_code == 200


def test_fault_method_filter(fake: Fake) -> None:
    fake.control.add_fault("status", method="POST", path="/api/v2/files/*", status=503)
    assert requests.get(fake.url("/api/v2/files/"), headers=fake.headers).status_code == 200
    response = requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers, files={"file": ("a", b"a")})
    assert response.status_code == 503
    assert fake.file_names() == []


def test_tenant_scoped_fault_spares_other_tenants(fake: Fake, other: Fake) -> None:
    my_id = me(fake)["id"]
    rule = fake.control.add_fault("status", path="/api/v2/users/me/", status=503)
    assert rule["tenant"] == my_id
    assert requests.get(other.url("/api/v2/users/me/"), headers=other.headers).status_code == 200
    assert requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers).status_code == 503
    assert control_call(other, "GET", "faults/").json() == []


def test_tenant_of_a_fault_is_the_callers_id(fake: Fake) -> None:
    tenant_id = me(fake)["id"]
    assert fake.control.add_fault("latency", latencyMs=0)["tenant"] == tenant_id


def test_delete_one_fault(fake: Fake) -> None:
    rule = fake.control.add_fault("status", path="/api/v2/users/me/", status=503)
    assert control_call(fake, "DELETE", f"faults/{rule['id']}/").status_code == 204
    assert requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers).status_code == 200
    again = control_call(fake, "DELETE", f"faults/{rule['id']}/")
    assert (again.status_code, again.json()) == (404, {"detail": "Not found."})


def test_clear_faults(fake: Fake) -> None:
    fake.control.add_fault("status", status=503)
    fake.control.clear_faults()
    assert control_call(fake, "GET", "faults/").json() == []
    assert requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers).status_code == 200


def test_faults_never_touch_the_control_plane(fake: Fake) -> None:
    fake.control.add_fault("status", path="*", status=503)
    assert control_call(fake, "GET", "clock/").status_code == 200
    assert control_call(fake, "GET", "health/").status_code == 200


def test_fault_defaults(fake: Fake) -> None:
    rule = fake.control.add_fault("status")
    assert {k: rule[k] for k in ("method", "path", "status", "retryAfter", "latencyMs", "afterBytes", "times",
                                  "probability", "fired")} == {
        "method": "*", "path": "/api/*", "status": 503, "retryAfter": None, "latencyMs": 0, "afterBytes": 1,
        "times": None, "probability": 1.0, "fired": 0}


# -- journal -----------------------------------------------------------------------------------------------------
def test_journal_records_calls(fake: Fake) -> None:
    tenant_id = me(fake)["id"]
    requests.get(fake.url("/api/v2/coretypes/"), headers=fake.headers, params={"page": 2})
    newest, oldest = fake.control.journal()
    assert (oldest["method"], oldest["path"], oldest["status"], oldest["operationId"], oldest["tenant"]) == (
        "GET", "/api/v2/users/me/", 200, "getCurrentUser", tenant_id)
    assert (newest["path"], newest["query"], newest["operationId"]) == ("/api/v2/coretypes/", "page=2", "listCoreTypes")
    assert newest["id"] > oldest["id"]
    assert newest["fault"] is None and newest["durationMs"] >= 0


def test_journal_records_errors(fake: Fake) -> None:
    requests.get(fake.url("/api/v2/files/NoSuch/"), headers=fake.headers)
    [entry] = fake.control.journal()
    assert (entry["status"], entry["operationId"]) == (404, "getFile")


def test_assert_called(fake: Fake) -> None:
    fake.upload()
    fake.upload()
    calls = fake.control.assert_called("uploadFile", times=2)
    assert all(c["method"] == "POST" and c["status"] == 201 for c in calls)


@pytest.mark.parametrize("filters, expected", [
    ({"method": "POST"}, ["uploadFile"]),
    ({"method": "get"}, ["listFiles", "getCurrentUser"]),
    ({"operationId": "getCurrentUser"}, ["getCurrentUser"]),
    ({"path": "/api/v2/files/*"}, ["listFiles", "uploadFile"]),
    ({"limit": 1}, ["listFiles"]),
])
def test_journal_filters(fake: Fake, filters: dict[str, Any], expected: list[str]) -> None:
    me(fake)
    fake.upload()
    fake.file_names()
    assert [e["operationId"] for e in fake.control.journal(**filters)] == expected


def test_journal_never_records_the_key(fake: Fake) -> None:
    me(fake)
    fake.upload()
    bad_key = "definitely-wrong-key-" + fake.api_key[::-1]
    requests.get(fake.url("/api/v2/users/me/"), headers={"Authorization": f"Token {bad_key}"})
    for token in (True, False):
        text = control_call(fake, "GET", "journal/", token=token, params={"limit": 100000}).text
        assert fake.api_key not in text
        assert bad_key not in text
    assert json.loads(control_call(fake, "GET", "journal/", token=False).text)["count"] >= 3


def test_journal_is_per_tenant(fake: Fake, other: Fake) -> None:
    me(other)
    assert fake.control.journal() == []
    assert [e["operationId"] for e in other.control.journal()] == ["getCurrentUser"]


def test_clear_journal(fake: Fake) -> None:
    me(fake)
    assert control_call(fake, "DELETE", "journal/").status_code == 204
    assert fake.control.journal() == []


def test_control_plane_is_not_journaled(fake: Fake) -> None:
    fake.control.clock()
    control_call(fake, "GET", "health/")
    assert fake.control.journal() == []


@pytest.mark.parametrize("value", ["0", "abc"])
def test_bad_journal_limit_is_400(fake: Fake, value: str) -> None:
    response = control_call(fake, "GET", "journal/", params={"limit": value})
    assert response.status_code == 400
    assert list(response.json()) == ["limit"]
