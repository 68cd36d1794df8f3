"""Issue 11, items 10 and 11: the control plane refuses what a web page could send (a cross-origin form POST, a
DNS-rebound Host), tells no one which keys exist, takes a control token for server-wide calls; `--accept-any-key`
creates a bounded number of tenants."""
from __future__ import annotations

import http.client
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from rescale_mock.app import create_app
from rescale_mock.cli import build_parser, config_from
from rescale_mock.config import Config
from rescale_mock.testing import Control, Fake, ServedProcess

TOKEN = "control-token-for-tests"


def with_host(base_url: str, path: str, host: str, method: str = "GET", key: str | None = None) -> tuple[int, bytes]:
    """A request whose Host header names another site (what a DNS-rebinding page's browser sends)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        if key:
            conn.putheader("Authorization", f"Token {key}")
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[ServedProcess]]:
    started: list[ServedProcess] = []
    yield started
    for server in started:
        server.close()


# -- CSRF: a cross-origin "simple" POST changes nothing ------------------------------------------------------------
@pytest.mark.parametrize("kind", ["form", "text", "none"])
def test_a_simple_cross_origin_post_cannot_reset(fake: Fake, kind: str) -> None:
    requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers, files={"file": ("kept.txt", b"x")})
    sent = {"form": {"data": {"a": "1"}}, "text": {"data": "{}", "headers": {"Content-Type": "text/plain"}},
            "none": {}}[kind]
    # no token: what a page elsewhere would send (a browser adds no Authorization of ours), server-wide
    response = requests.post(fake.url("/_fake/reset/"), timeout=30, **sent)  # type: ignore[arg-type]
    assert response.status_code == 415, response.text
    assert fake.file_names() == ["kept.txt"]


def test_a_preflight_is_never_granted(fake: Fake) -> None:
    """What a page must ask before sending JSON (or PUT, DELETE) across origins: the fake grants no origin."""
    response = requests.options(fake.url("/_fake/reset/"), timeout=30, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert not any(h.lower().startswith("access-control-allow") for h in response.headers)


def test_reset_takes_an_empty_json_object(fake: Fake) -> None:
    assert requests.post(fake.url("/_fake/reset/"), json={"all": True}, headers=fake.headers).status_code == 400
    assert requests.post(fake.url("/_fake/reset/"), json={}, headers=fake.headers).status_code == 204


def test_a_form_cannot_create_a_tenant(fake: Fake) -> None:
    response = requests.post(fake.url("/_fake/tenants/"), data={"apiKey": "form-made-key-1"}, timeout=30)
    assert response.status_code == 415


# -- DNS rebinding: only loopback host names -----------------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8123", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_another_host_name_is_refused(fake: Fake, host: str) -> None:
    status, body = with_host(fake.base_url, "/_fake/journal/", host)
    assert status == 400
    assert b"Invalid Host header" in body
    status, _ = with_host(fake.base_url, "/api/v2/users/me/", host, key=fake.api_key)
    assert status == 400


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"])
def test_loopback_host_names_are_answered(fake: Fake, host: str) -> None:
    port = urlsplit(fake.base_url).port
    status, _ = with_host(fake.base_url, "/api/v2/users/me/", host.format(port=port), key=fake.api_key)
    assert status == 200


def test_allow_host_adds_names_and_any_host_for_another_bind_address(served: list[ServedProcess],
                                                                    tmp_path: Path) -> None:
    server = ServedProcess(tmp_path / "d", ("host-key-00000",), "--allow-host", "fake.internal")
    served.append(server)
    assert with_host(server.base_url, "/_fake/health/", "fake.internal:80")[0] == 200
    assert with_host(server.base_url, "/_fake/health/", "localhost")[0] == 200
    assert with_host(server.base_url, "/_fake/health/", "evil.example")[0] == 400
    wide = config_from(build_parser().parse_args(["serve", "--host", "0.0.0.0"]))
    assert wide.allowed_hosts == ("*",)
    other_loopback = config_from(build_parser().parse_args(["serve", "--host", "127.0.0.2"]))
    assert "127.0.0.2" in other_loopback.allowed_hosts and "evil.example" not in other_loopback.allowed_hosts
    app = create_app(Config(allowed_hosts=wide.allowed_hosts))
    try:
        assert app.test_client().get("/_fake/health/", headers={"Host": "my-ci-box:8123"}).status_code == 200
    finally:
        app.extensions["rescale_mock"].close()


# -- no oracle of existing keys -------------------------------------------------------------------------------------
def test_creating_a_tenant_answers_alike_for_a_new_and_an_existing_key(fake: Fake) -> None:
    existing = requests.post(fake.url("/_fake/tenants/"), json={"apiKey": fake.api_key}, timeout=30)
    fresh_key = f"fresh-{fake.api_key[:20]}"
    fresh = requests.post(fake.url("/_fake/tenants/"), json={"apiKey": fresh_key}, timeout=30)
    assert existing.status_code == fresh.status_code == 201
    assert set(existing.json()) == set(fresh.json()) == {"id", "apiKey"}
    assert requests.get(fake.url("/api/v2/users/me/"), headers=fake.headers).json()["id"] == existing.json()["id"]
    Control(fake.base_url, fresh_key).reset()


# -- the control token ---------------------------------------------------------------------------------------------
def test_control_token_guards_server_wide_calls(served: list[ServedProcess], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESCALE_MOCK_CONTROL_TOKEN", TOKEN)  # the environment variable, as in CI
    key = "token-key-000000"
    server = ServedProcess(tmp_path / "d", (key,))
    served.append(server)
    url = server.base_url
    for method, path in [("GET", "journal/"), ("GET", "clock/"), ("DELETE", "faults/")]:
        assert requests.request(method, f"{url}/_fake/{path}", timeout=30).status_code == 403, path
    refused = requests.post(f"{url}/_fake/reset/", json={}, headers={"X-Rescale-Mock-Control-Token": "wrong"})
    assert refused.status_code == 403
    assert "X-Rescale-Mock-Control-Token" in refused.json()["detail"]
    assert requests.post(f"{url}/_fake/tenants/", json={}, timeout=30).status_code == 403
    assert requests.get(f"{url}/_fake/health/", timeout=30).status_code == 200  # liveness stays open
    # with the token, or scoped by a tenant's key, calls work; so does the testing helper
    admin = Control(url, control_token=TOKEN)
    created = admin.create_tenant()
    assert admin.journal() is not None
    admin.reset()
    tenant = Control(url, created["apiKey"])
    assert tenant.advance(60)["mode"]
    tenant.reset()


def test_control_token_in_process() -> None:
    app = create_app(Config(api_keys=("inproc-key-0000",), control_token=TOKEN))
    client = app.test_client()
    try:
        assert client.get("/_fake/journal/").status_code == 403
        assert client.get("/_fake/journal/", headers={"X-Rescale-Mock-Control-Token": TOKEN}).status_code == 200
        assert client.get("/_fake/journal/", headers={"Authorization": "Token inproc-key-0000"}).status_code == 200
    finally:
        app.extensions["rescale_mock"].close()


# -- item 11: --accept-any-key is bounded --------------------------------------------------------------------------
def test_accept_any_key_stops_at_max_tenants() -> None:
    app = create_app(Config(accept_any_key=True, max_tenants=3))
    client = app.test_client()
    try:
        for n in range(3):
            assert client.get("/api/v2/users/me/", headers={"Authorization": f"Token any-key-{n:04}"}).status_code == 200
        refused = client.get("/api/v2/users/me/", headers={"Authorization": "Token any-key-0003"})
        assert refused.status_code == 401
        assert "limit of 3 tenants" in refused.get_json()["detail"]
        assert client.get("/api/v2/users/me/", headers={"Authorization": "Token any-key-0001"}).status_code == 200
        assert client.get("/_fake/health/").get_json()["tenants"] == 3
    finally:
        app.extensions["rescale_mock"].close()


def test_serve_max_tenants(served: list[ServedProcess], tmp_path: Path) -> None:
    server = ServedProcess(tmp_path / "d", (), "--accept-any-key", "--max-tenants", "2")  # the demo key is one
    served.append(server)

    def me(key: str) -> requests.Response:
        return requests.get(f"{server.base_url}/api/v2/users/me/", headers={"Authorization": f"Token {key}"})

    assert me("first-any-key-1").status_code == 200
    second = me("second-any-key-2")
    assert second.status_code == 401 and "--max-tenants" in second.json()["detail"]
