"""The portal and the API docs through Flask's test client (fast, no browser): sign-in, pages, forms, downloads,
CSRF, and that a tenant never sees another's data. `tests/test_portal_browser.py` drives the same in Chromium."""
from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
import yaml
from flask.testing import FlaskClient

from rescale_mock.app import create_app
from rescale_mock.config import Config
from rescale_mock.spec import load_document

KEY_A = "portal-tenant-a-0123456789abcdef0123456789"
KEY_B = "portal-tenant-b-0123456789abcdef0123456789"
COMMAND = "echo hello from the portal; sleep 600; echo second line; openssl rand -out result.bin 1234"


@dataclass
class Portal:
    client: FlaskClient  # a browser: keeps the session cookie
    api: FlaskClient  # a script: sends the key itself
    backend: Any

    def sign_in(self, key: str) -> Any:
        return self.client.post("/portal/sign-in", data={"csrf": csrf(self.client.get("/portal/sign-in")), "key": key})

    def headers(self, key: str = KEY_A) -> dict[str, str]:
        return {"Authorization": f"Token {key}"}

    def create_job(self, key: str = KEY_A, command: str = COMMAND, submit: bool = True) -> str:
        body = {"name": "portal job", "jobanalyses": [{
            "analysis": {"code": "user_included", "version": "0"}, "command": command,
            "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 2}}]}
        created = self.api.post("/api/v2/jobs/", headers=self.headers(key), json=body)
        assert created.status_code == 201, created.text
        job_id = created.json["id"]
        if submit:
            assert self.api.post(f"/api/v2/jobs/{job_id}/submit/", headers=self.headers(key)).status_code == 200
        return str(job_id)

    def advance(self, seconds: float, key: str = KEY_A) -> None:
        moved = self.api.post("/_fake/clock/advance/", headers=self.headers(key), json={"seconds": seconds})
        assert moved.status_code == 200

    def status(self, job_id: str, key: str = KEY_A) -> str:
        statuses = self.api.get(f"/api/v2/jobs/{job_id}/statuses/", headers=self.headers(key)).json
        return str(statuses["results"][0]["status"])

    def advance_until(self, job_id: str, status: str, key: str = KEY_A) -> None:
        for _ in range(200):
            if self.status(job_id, key) == status:
                return
            self.advance(15, key)
        raise AssertionError(f"job {job_id} never reached {status}")


def csrf(response: Any) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page has no form with a CSRF token"
    return match[1]


def messages(response: Any) -> list[str]:
    found = re.findall(r'<p class="message [^"]+">([^<]*)</p>', response.get_data(as_text=True))
    return [html.unescape(m) for m in found]


@pytest.fixture
def portal() -> Iterator[Portal]:
    app = create_app(Config(api_keys=(KEY_A, KEY_B), clock_mode="manual", validate_responses=True))
    backend = app.extensions["rescale_mock"]
    yield Portal(app.test_client(), app.test_client(), backend)
    assert not backend.violations
    backend.close()


@pytest.fixture
def signed_in(portal: Portal) -> Portal:
    assert portal.sign_in(KEY_A).status_code == 303
    return portal


# -- docs ----------------------------------------------------------------------------------------------------------
def test_docs_page_loads_swagger_ui_from_this_server_only(portal: Portal) -> None:
    page = portal.client.get("/docs").get_data(as_text=True)
    assert "rescale-mock</strong>: a local fake" in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert "/docs/assets/swagger-ui-bundle.js" in sources and "/docs/assets/swagger-ui.css" in sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], "no CDN: the page works offline"
    assert "validatorUrl: null" in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        response = portal.client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200 and len(response.data) > 10_000
    assert portal.client.get("/docs/assets/../__init__.py").status_code == 404


@pytest.mark.parametrize("path, name", [("/openapi", "rescale.yaml"), ("/openapi/control", "control.yaml")])
def test_openapi_documents_are_served_as_yaml_and_json(portal: Portal, path: str, name: str) -> None:
    as_json = portal.client.get(f"{path}.json")
    assert as_json.mimetype == "application/json"
    assert as_json.json == json.loads(json.dumps(load_document(name), default=str))
    assert list(as_json.json["paths"]) == list(load_document(name)["paths"]), "the document's order is kept"
    as_yaml = portal.client.get(f"{path}.yaml")
    assert as_yaml.mimetype == "application/yaml"
    assert yaml.safe_load(as_yaml.data) == load_document(name)


# -- signing in --------------------------------------------------------------------------------------------------
def test_root_and_pages_lead_to_sign_in(portal: Portal) -> None:
    assert portal.client.get("/").headers["Location"] == "/portal/"
    for path in ("/portal/", "/portal/jobs", "/portal/jobs/abc", "/portal/clusters", "/portal/control",
                 "/portal/files/abc/download"):
        response = portal.client.get(path, follow_redirects=True)
        assert response.request.path == "/portal/sign-in", path
        assert "Sign in with an API key" in response.get_data(as_text=True)


def test_wrong_key_is_refused(portal: Portal) -> None:
    for key in ("not-a-key-of-this-server", "", "x" * 5000, "Token ", KEY_A[:-1]):
        response = portal.sign_in(key)
        assert response.status_code == 401, key[:20]
        assert "Invalid token." in response.get_data(as_text=True)
    assert portal.client.get("/portal/jobs").status_code == 303


def test_sign_in_keeps_the_key_out_of_urls_pages_and_logs(portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    response = portal.sign_in(f"Token {KEY_A}")  # pasted with its scheme: accepted too
    assert response.status_code == 303 and response.headers["Location"] == "/portal/jobs"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires" not in cookie  # a browser-session cookie
    job_id = portal.create_job()
    for path in ("/portal/jobs", f"/portal/jobs/{job_id}", "/portal/clusters", "/portal/control", "/docs"):
        page = portal.client.get(path)
        assert page.status_code == 200, path
        assert KEY_A not in page.get_data(as_text=True) and KEY_A not in str(page.headers)
        assert page.headers.get("Cache-Control") == "no-store" or path == "/docs"
    assert KEY_A not in caplog.text


def test_sign_in_returns_to_the_page_asked_for(portal: Portal) -> None:
    job_id = portal.create_job()
    assert portal.client.get(f"/portal/jobs/{job_id}").headers["Location"] == "/portal/sign-in"
    response = portal.sign_in(KEY_A)
    assert response.headers["Location"] == f"/portal/jobs/{job_id}"
    assert portal.client.get(response.headers["Location"]).status_code == 200


def test_sign_out_ends_the_session(signed_in: Portal) -> None:
    page = signed_in.client.get("/portal/jobs")
    assert signed_in.client.post("/portal/sign-out", data={"csrf": csrf(page)}).status_code == 303
    assert signed_in.client.get("/portal/jobs").status_code == 303


def test_forms_without_the_sessions_csrf_token_are_refused(signed_in: Portal) -> None:
    for token in (None, "", "forged"):
        data = {"action": "status", "status": "503"} | ({"csrf": token} if token is not None else {})
        response = signed_in.client.post("/portal/control/faults", data=data)
        assert response.status_code == 400
        assert "did not come from this portal" in response.get_data(as_text=True)
    assert signed_in.backend.faults.list(None) == []
    other = signed_in.client.application.test_client()  # another browser: its own session and token
    other_token = csrf(other.get("/portal/sign-in"))
    assert signed_in.client.post("/portal/sign-in", data={"csrf": other_token, "key": KEY_B}).status_code == 400


# -- jobs ----------------------------------------------------------------------------------------------------------
def test_a_job_created_through_the_api_is_listed_with_its_status(signed_in: Portal) -> None:
    job_id = signed_in.create_job()
    saved = signed_in.create_job(submit=False)
    page = signed_in.client.get("/portal/jobs").get_data(as_text=True)
    assert f'href="/portal/jobs/{job_id}"' in page and f'href="/portal/jobs/{saved}"' in page
    assert '<span class="badge" data-status="Pending">Pending</span>' in page
    assert "Not submitted" in page
    signed_in.advance_until(job_id, "Executing")
    executing = signed_in.client.get("/portal/jobs?job_status=EXECUTING").get_data(as_text=True)
    assert job_id in executing and saved not in executing and "1 job matching the filter" in executing
    assert job_id not in signed_in.client.get("/portal/jobs?state=completed").get_data(as_text=True)
    ignored = signed_in.client.get("/portal/jobs?state=nonsense&job_status=%00&page=-3")
    assert ignored.status_code == 200 and "2 jobs." in ignored.get_data(as_text=True)


def test_job_page_timeline_moves_with_the_clock_and_the_log_grows(signed_in: Portal) -> None:
    job_id = signed_in.create_job()
    page = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    assert 'data-live="on"' in page and "Not Started" in page and "Executing" not in page
    assert "echo hello from the portal" in page  # the definition
    signed_in.advance_until(job_id, "Executing")
    page = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    timeline = re.search(r'<ol class="timeline" id="job-timeline">(.*?)</ol>', page, re.S)[1]
    assert re.findall(r'data-status="([^"]+)"', timeline) == [
        "Pending", "Waiting for Queue", "Queued", "Started", "Validated", "Executing"]
    log = re.search(r'<pre class="log" id="log"[^>]*>(.*?)</pre>', page, re.S)[1]
    assert "process_output.log (live tail)" in page and "hello from the portal\nsecond line" in log
    assert "Command exited" not in log
    signed_in.advance(3600)  # the fake prints what the command echoes when the run starts; the exit line ends it
    page = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    log = re.search(r'<pre class="log" id="log"[^>]*>(.*?)</pre>', page, re.S)[1]
    assert "process_output.log (saved)" in page and log.rstrip().endswith("Command exited with status 0")
    assert log.startswith("[") and "\n\n" not in log and "hello from the portal\nsecond line\n" in log


def test_finished_job_lists_its_files_and_downloads_the_right_bytes(signed_in: Portal) -> None:
    job_id = signed_in.create_job(command="echo done; openssl rand -out result.bin 1234")
    signed_in.advance_until(job_id, "Completed")
    page = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    assert 'data-live="off"' in page and "process_output.log (saved)" in page
    outputs = signed_in.api.get(f"/api/v2/jobs/{job_id}/files/", headers=signed_in.headers()).json["results"]
    assert {o["relativePath"] for o in outputs} == {"process_output.log", "result.bin"}
    for output in outputs:
        checksum = output["fileChecksums"][0]["fileHash"]
        assert checksum in page and f"{output['decryptedSize']:,}" in page
        link = f'/portal/files/{output["id"]}/download'
        assert f'href="{link}"' in page
        download = signed_in.client.get(link)
        assert download.status_code == 200
        assert hashlib.sha512(download.data).hexdigest() == checksum
        assert f'filename={output["name"]}' in download.headers["Content-Disposition"]


def test_stop_and_scenario_from_the_job_page(signed_in: Portal) -> None:
    job_id = signed_in.create_job()
    signed_in.advance_until(job_id, "Executing")
    page = signed_in.client.get(f"/portal/jobs/{job_id}")
    response = signed_in.client.post(f"/portal/jobs/{job_id}/stop", data={"csrf": csrf(page)}, follow_redirects=True)
    assert "Stop requested." in messages(response)
    signed_in.advance(600)
    assert signed_in.status(job_id) == "Completed"
    later = signed_in.create_job()
    response = signed_in.client.post(f"/portal/jobs/{later}/scenario", data={"csrf": csrf(page), "outcome": "nope"},
                                     follow_redirects=True)
    assert messages(response) == ["Refused (400): outcome: \"nope\" is not a valid choice."]


# -- the control plane ---------------------------------------------------------------------------------------------
def test_clock_forms_move_and_switch_the_tenants_clock(signed_in: Portal) -> None:
    before = signed_in.api.get("/_fake/clock/", headers=signed_in.headers()).json
    page = signed_in.client.get("/portal/control")
    assert "Mode <strong>manual</strong>" in page.get_data(as_text=True)
    response = signed_in.client.post("/portal/control/advance", data={"csrf": csrf(page), "seconds": "3600"},
                                     follow_redirects=True)
    assert messages(response) == ["Clock advanced by 3600 s."]
    after = signed_in.api.get("/_fake/clock/", headers=signed_in.headers()).json
    assert after["now"][:13] != before["now"][:13]
    assert signed_in.api.get("/_fake/clock/", headers=signed_in.headers(KEY_B)).json["now"][:13] == before["now"][:13]
    for seconds in ("-1", "abc", "1e400"):
        response = signed_in.client.post("/portal/control/advance", data={"csrf": csrf(page), "seconds": seconds},
                                         follow_redirects=True)
        assert messages(response)[0].startswith("Refused (400): seconds:"), seconds
    response = signed_in.client.post("/portal/control/clock", data={"csrf": csrf(page), "mode": "poll"},
                                     follow_redirects=True)
    assert "Mode <strong>poll</strong>" in response.get_data(as_text=True)


def test_fault_added_in_the_portal_hits_the_next_api_call_and_shows_in_the_journal(signed_in: Portal) -> None:
    page = signed_in.client.get("/portal/control")
    form = {"csrf": csrf(page), "action": "status", "status": "503", "method": "GET", "path": "/api/v2/users/*",
            "times": "1", "retryAfter": "", "probability": ""}
    response = signed_in.client.post("/portal/control/faults", data=form, follow_redirects=True)
    assert messages(response) == ["Fault rule added."]
    [fault] = signed_in.api.get("/_fake/faults/", headers=signed_in.headers()).json
    assert (fault["status"], fault["times"], fault["path"]) == (503, 1, "/api/v2/users/*")
    assert signed_in.api.get("/api/v2/users/me/", headers=signed_in.headers(KEY_B)).status_code == 200
    assert signed_in.api.get("/api/v2/users/me/", headers=signed_in.headers()).status_code == 503
    assert signed_in.api.get("/api/v2/users/me/", headers=signed_in.headers()).status_code == 200
    page = signed_in.client.get("/portal/control").get_data(as_text=True)
    journal = re.search(r'<table id="journal">(.*?)</table>', page, re.S)[1]
    rows = re.findall(r"<tr( class=\"faulted\")?>(.*?)</tr>", journal, re.S)
    faulted = [body for marker, body in rows if marker]
    assert len(faulted) == 1 and f"<code>{fault['id']}</code>" in faulted[0] and ">503<" in faulted[0]
    assert "getCurrentUser" in faulted[0]


def test_fault_forms_refuse_bad_rules_and_remove_them(signed_in: Portal) -> None:
    token = csrf(signed_in.client.get("/portal/control"))
    for bad in ({"action": "explode"}, {"action": "status", "status": "200"}, {"action": "latency", "latencyMs": "x"},
                {"action": "status", "probability": "2"}, {"action": "status", "path": "p" * 2000}):
        response = signed_in.client.post("/portal/control/faults", data={"csrf": token, **bad}, follow_redirects=True)
        assert messages(response)[0].startswith("Refused (400):"), bad
    assert signed_in.backend.faults.list(None) == []
    for _ in range(2):
        signed_in.client.post("/portal/control/faults", data={"csrf": token, "action": "latency", "latencyMs": "1"})
    first, second = signed_in.backend.faults.list(None)
    response = signed_in.client.post(f"/portal/control/faults/{first.id}/delete", data={"csrf": token},
                                     follow_redirects=True)
    assert messages(response)[-1] == "Fault rule removed."
    assert [f.id for f in signed_in.backend.faults.list(None)] == [second.id]
    signed_in.client.post("/portal/control/faults/clear", data={"csrf": token})
    assert signed_in.backend.faults.list(None) == []


def test_default_scenario_form(signed_in: Portal) -> None:
    token = csrf(signed_in.client.get("/portal/control"))
    response = signed_in.client.post("/portal/control/scenario", data={"csrf": token, "outcome": "fail",
                                                                       "exitCode": "7", "reason": ""},
                                     follow_redirects=True)
    assert messages(response) == ["Scenario set for jobs submitted from now on."]
    job_id = signed_in.create_job(command="echo hi")
    signed_in.advance_until(job_id, "Completed")
    log = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    assert "Command exited with status 7" in log


# -- tenants -------------------------------------------------------------------------------------------------------
def test_no_page_shows_another_tenants_data(portal: Portal) -> None:
    theirs = portal.create_job(KEY_B, command="echo secret of b; openssl rand -out b.bin 10")
    portal.advance(3600, KEY_B)
    their_files = portal.api.get(f"/api/v2/jobs/{theirs}/files/", headers=portal.headers(KEY_B)).json["results"]
    assert their_files
    portal.api.post("/_fake/faults/", headers=portal.headers(KEY_B), json={"action": "latency", "path": "/api/secret*"})
    portal.sign_in(KEY_A)
    mine = portal.create_job(KEY_A)
    for path in ("/portal/jobs", "/portal/jobs?state=completed", f"/portal/jobs/{mine}", "/portal/clusters",
                 "/portal/control"):
        page = portal.client.get(path).get_data(as_text=True)
        assert theirs not in page and "secret" not in page, path
    assert portal.client.get(f"/portal/jobs/{theirs}").status_code == 404
    for output in their_files:
        assert portal.client.get(f"/portal/files/{output['id']}/download").status_code == 404
    token = csrf(portal.client.get("/portal/control"))
    [their_fault] = portal.api.get("/_fake/faults/", headers=portal.headers(KEY_B)).json
    response = portal.client.post(f"/portal/control/faults/{their_fault['id']}/delete", data={"csrf": token},
                                  follow_redirects=True)
    assert messages(response) == ["Refused (404): Not found."]
    response = portal.client.post(f"/portal/jobs/{theirs}/scenario", data={"csrf": token, "outcome": "fail"},
                                  follow_redirects=True)
    assert response.status_code == 404 or messages(response) == ["Refused (404): Not found."]
    portal.client.post("/portal/control/faults/clear", data={"csrf": token})
    assert len(portal.api.get("/_fake/faults/", headers=portal.headers(KEY_B)).json) == 1


def test_clusters_page_shows_persistent_clusters_with_their_timeline(signed_in: Portal) -> None:
    body = {"name": "portal cluster", "hardware": {"coreType": "granite", "coresPerSlot": 2}}
    created = signed_in.api.post("/api/v3/clusters/", headers=signed_in.headers(), json=body)
    assert created.status_code == 201, created.text
    cluster_id = created.json["id"]
    assert signed_in.api.post(f"/api/v3/clusters/{cluster_id}/start/", headers=signed_in.headers()).status_code == 204
    signed_in.advance(3600)
    page = signed_in.client.get("/portal/clusters").get_data(as_text=True)
    assert "portal cluster" in page and cluster_id in page
    card = page[page.index(cluster_id):]
    assert re.findall(r'data-status="([^"]+)"', card)[:2] == ["Started", "Not Started"]


def test_hostile_form_values_are_refused_with_a_message(signed_in: Portal) -> None:
    token = csrf(signed_in.client.get("/portal/control"))
    for seconds in ("9" * 5000, "NaN", "Infinity", "1" * 300 + ".5", "\x00", "﻿12"):
        response = signed_in.client.post("/portal/control/advance", data={"csrf": token, "seconds": seconds},
                                         follow_redirects=True)
        assert response.status_code == 200 and messages(response)[0].startswith("Refused (400): seconds:"), seconds
    response = signed_in.client.post("/portal/control/faults", follow_redirects=True,
                                     data={"csrf": token, "action": "status", "times": "9" * 5000})
    assert messages(response)[0].startswith("Refused (400): times:")
    assert signed_in.backend.faults.list(None) == []
    for path in ("/portal/jobs/%ED%A0%80", "/portal/jobs/" + "a" * 5000, "/portal/files/..%2f..%2fx/download",
                 "/docs/assets/%2e%2e/flask_swagger_ui.py", "/portal/static/../auth.py"):
        assert signed_in.client.get(path).status_code == 404, path[:40]
    assert signed_in.client.get("/portal/jobs?state=%ff&job_status=%ff&page=" + "9" * 5000).status_code == 200
    assert signed_in.client.get("/portal/jobs?page=%C2%B2").status_code == 200  # "²" is a digit to str.isdigit()


def test_a_huge_integer_in_a_query_is_a_4xx_not_a_500(portal: Portal) -> None:
    """Python refuses int() of more than 4300 digits: such a value stays text and the spec refuses it."""
    response = portal.api.get("/api/v2/files/?page=" + "9" * 5000, headers=portal.headers())
    assert response.status_code == 404 and response.json == {"detail": "Invalid page."}
    response = portal.api.get("/api/v2/files/?page_size=" + "9" * 5000, headers=portal.headers())
    assert response.status_code == 400 and "page_size" in response.json


# -- storage devices -----------------------------------------------------------------------------------------------
DEVICE = {"name": "portal scratch", "storageSize": 2, "hardware": {"walltime": 24, "coresPerSlot": 18,
                                                                   "coreType": "hps-3"}}


def create_device(portal: Portal, key: str = KEY_A, submit: bool = True, name: str = "portal scratch") -> str:
    created = portal.api.post("/api/v2/storage-devices/", headers=portal.headers(key), json=DEVICE | {"name": name})
    assert created.status_code == 201, created.text
    device_id = str(created.json["id"])
    if submit:
        submitted = portal.api.post(f"/api/v2/storage-devices/{device_id}/submit/", headers=portal.headers(key))
        assert submitted.status_code == 200, submitted.text
    return device_id


def device_timeline(page: str) -> list[str]:
    return re.findall(r'data-status="([^"]+)"',
                      re.search(r'<ol class="timeline" id="device-timeline">(.*?)</ol>', page, re.S)[1])


def test_a_device_created_through_the_api_is_listed_with_its_status(signed_in: Portal) -> None:
    device_id = create_device(signed_in)
    idle = create_device(signed_in, submit=False, name="idle device")
    page = signed_in.client.get("/portal/storage-devices").get_data(as_text=True)
    assert 'href="/portal/storage-devices"' in page and 'aria-current="page">Storage devices' in page
    assert "2 storage devices" in page and "portal scratch" in page and "idle device" in page
    for found in (device_id, idle):
        api = signed_in.api.get(f"/api/v2/storage-devices/{found}/", headers=signed_in.headers()).json
        row = page[page.index(f'href="/portal/storage-devices/{found}"'):]
        assert re.search(r'data-status="([^"]+)"', row)[1] == api["status"]
    assert '<span class="badge" data-status="Not Started">Not Started</span>' in page


def test_device_page_shows_its_definition_and_its_timeline_moves_with_the_clock(signed_in: Portal) -> None:
    device_id = create_device(signed_in)
    response = signed_in.client.get(f"/portal/storage-devices/{device_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "portal scratch" in page and "<code>hps-3</code>, 18 core(s) per slot, walltime 24 h" in page
    assert "2 GB" in page and f"GET /api/v2/storage-devices/{device_id}/" in page and 'data-live="on"' in page
    before = device_timeline(page)
    assert "Started" not in before
    signed_in.advance(3600)
    page = signed_in.client.get(f"/portal/storage-devices/{device_id}").get_data(as_text=True)
    statuses = signed_in.api.get(f"/api/v2/storage-devices/{device_id}/statuses/", headers=signed_in.headers()).json
    assert device_timeline(page) == [s["status"] for s in reversed(statuses["results"])]  # oldest first
    assert device_timeline(page)[-1] == "Started" and len(device_timeline(page)) > len(before)
    assert 'id="device-status" data-status="Started"' in page
    signed_in.api.post(f"/api/v2/storage-devices/{device_id}/shutdown/", headers=signed_in.headers())
    signed_in.advance(3600)
    page = signed_in.client.get(f"/portal/storage-devices/{device_id}").get_data(as_text=True)
    assert device_timeline(page)[-1] == "Stopped" and 'data-live="off"' in page


def test_device_scenario_form_goes_through_the_control_plane(signed_in: Portal) -> None:
    device_id = create_device(signed_in, submit=False)
    token = csrf(signed_in.client.get(f"/portal/storage-devices/{device_id}"))
    for outcome, expected in (("explode", 'Refused (400): outcome: "explode" is not a valid choice.'),
                              ("fail_to_start", "Scenario set for this storage device.")):
        response = signed_in.client.post(f"/portal/storage-devices/{device_id}/scenario", follow_redirects=True,
                                         data={"csrf": token, "outcome": outcome})
        assert messages(response) == [expected], outcome
    signed_in.api.post(f"/api/v2/storage-devices/{device_id}/submit/", headers=signed_in.headers())
    signed_in.advance(3600)
    page = signed_in.client.get(f"/portal/storage-devices/{device_id}").get_data(as_text=True)
    assert device_timeline(page)[-2:] == ["Error", "Stopped"] and "The storage device failed to start" in page


def test_job_page_shows_its_attached_device(signed_in: Portal) -> None:
    device_id = create_device(signed_in, name="attached device")
    job_id = signed_in.create_job(submit=False)
    plain = signed_in.create_job()
    attached = signed_in.api.post(f"/api/v2/jobs/{job_id}/storage-devices/", headers=signed_in.headers(),
                                  json={"storageDevice": {"id": device_id}})
    assert attached.status_code == 201, attached.text
    page = signed_in.client.get(f"/portal/jobs/{job_id}").get_data(as_text=True)
    device = re.search(r'<p id="job-device">(.*?)</p>', page, re.S)[1]
    assert f'href="/portal/storage-devices/{device_id}"' in device and "attached device" in device
    assert re.search(r'data-status="([^"]+)"', device)[1] == "Not Started"
    assert 'id="job-device"' not in signed_in.client.get(f"/portal/jobs/{plain}").get_data(as_text=True)
    device_page = signed_in.client.get(f"/portal/storage-devices/{device_id}").get_data(as_text=True)
    assert f'href="/portal/jobs/{job_id}"' in device_page and f'href="/portal/jobs/{plain}"' not in device_page


def test_no_page_shows_another_tenants_device(portal: Portal) -> None:
    theirs = create_device(portal, KEY_B, name="secret device of b")
    portal.sign_in(KEY_A)
    mine = create_device(portal, KEY_A)
    for path in ("/portal/storage-devices", f"/portal/storage-devices/{mine}"):
        page = portal.client.get(path).get_data(as_text=True)
        assert theirs not in page and "secret" not in page, path
    assert portal.client.get(f"/portal/storage-devices/{theirs}").status_code == 404
    token = csrf(portal.client.get("/portal/storage-devices/" + mine))
    response = portal.client.post(f"/portal/storage-devices/{theirs}/scenario", follow_redirects=True,
                                  data={"csrf": token, "outcome": "fail_to_start"})
    assert messages(response) == ["Refused (404): Not found."]
    for path in ("/portal/storage-devices/%ED%A0%80", "/portal/storage-devices/" + "a" * 5000):
        assert portal.client.get(path).status_code == 404, path[:40]
    portal.client.post("/portal/sign-out", data={"csrf": token})
    for path in ("/portal/storage-devices", f"/portal/storage-devices/{mine}"):
        assert portal.client.get(path, follow_redirects=True).request.path == "/portal/sign-in", path
