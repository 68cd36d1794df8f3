"""`rescale-mock proxy` against upstreams that keep to the spec or drift from it on purpose; recordings (anonymized),
replay (byte for byte), `check-spec` offline, `serve --catalog-from`, and large transfers in bounded memory."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from requests_toolbelt import MultipartEncoder
from werkzeug.wrappers import Request, Response

from rescale_mock.app import create_app
from rescale_mock.cli import build_parser, config_from, main
from rescale_mock.config import Config
from rescale_mock.proxy.anonymize import Scrubber
from rescale_mock.proxy.catalog_from import serve_catalog
from rescale_mock.proxy.forward import ProxyApp
from rescale_mock.proxy.offline import check_recordings
from rescale_mock.proxy.recording import body_bytes, read_recordings
from rescale_mock.proxy.replay import ReplayApp
from rescale_mock.proxy.report import DriftReport
from rescale_mock.proxy.validate import explain
from rescale_mock.testing import Fake
from tests.proxy_helpers import ThreadServer, drift_set, start_proxy

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # servers closed

KEY = "real-key-5f3c9a0e7d2b4c6a8e1f3b5d7c9a0e2f"
EMAIL = "jane.doe@acme-aero.example"


# -- an upstream that drifts on purpose --------------------------------------------------------------------------
def _fake_answers() -> dict[str, Any]:
    """Answers the spec allows, taken from the fake itself (in-process), to start the drifting upstream from."""
    app = create_app(Config(api_keys=(KEY,)))
    client = app.test_client()
    headers = {"Authorization": f"Token {KEY}"}
    user = client.get("/api/v2/users/me/", headers=headers).get_json()
    page = client.get("/api/v2/coretypes/?page_size=1", headers=headers).get_json()
    app.extensions["rescale_mock"].close()
    core_type = {**page["results"][0], "code": "onyx-real", "name": "Onyx (recorded)", "displayOrder": 1}
    return {"user": {**user, "email": EMAIL, "fullName": "Jane Doe"},
            "coretypes": {"count": 1, "next": None, "previous": None, "results": [core_type]}}


class DriftingUpstream:
    """Drops a field and renames another (users/me), answers an undocumented status (a job), sends fewer bytes than
    its Content-Range says (a download); the core types page is as the spec says."""

    def __init__(self) -> None:
        self.answers = _fake_answers()
        self.sent: dict[str, bytes] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.headers.get("Authorization") != f"Token {KEY}":
            response = Response(b'{"detail":"Invalid token."}', 401, content_type="application/json")
        elif request.path == "/api/v2/users/me/":
            user = dict(self.answers["user"])
            user["full_name"] = user.pop("fullName")
            del user["lastName"]
            response = Response(json.dumps(user), 200, content_type="application/json")
        elif request.path == "/api/v2/jobs/abcDEF/":
            response = Response(b'{"detail":"I\'m a teapot."}', 418, content_type="application/json")
        elif request.path == "/api/v2/files/abcDEF/contents/":
            response = Response(b"x" * 50, 206, content_type="application/octet-stream",
                                headers={"Content-Range": "bytes 0-99/1000", "ETag": '"e1"', "Accept-Ranges": "bytes"})
        elif request.path == "/api/v2/coretypes/":
            response = Response(json.dumps(self.answers["coretypes"], separators=(",", ":")), 200,
                                content_type="application/json")
        else:
            response = Response(b'{"detail":"Not found."}', 404, content_type="application/json")
        self.sent[request.path] = response.get_data()
        return response(environ, start_response)


DRIFT_CALLS = [("/api/v2/users/me/", {}), ("/api/v2/jobs/abcDEF/", {}),
               ("/api/v2/files/abcDEF/contents/", {"Range": "bytes=0-99"}), ("/api/v2/coretypes/", {})]
EXPECTED_DRIFT = {
    ("getCurrentUser", "missing-field", "body lastName"),
    ("getCurrentUser", "missing-field", "body fullName"),
    ("getCurrentUser", "unexpected-field", "body full_name"),
    ("getJob", "undocumented-status", "status"),
    ("downloadFile", "invalid-header", "header Content-Range"),
}


@pytest.fixture(scope="module")
def drifted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The drifting upstream called once per path through a recording proxy."""
    upstream = DriftingUpstream()
    upstream_server = ThreadServer(upstream)
    recordings = tmp_path_factory.mktemp("drift-recordings")
    proxy, app = start_proxy(upstream_server.base_url, record=recordings)
    answers = {path: requests.get(proxy.base_url + path, headers={"Authorization": f"Token {KEY}", **extra},
                                  timeout=30) for path, extra in DRIFT_CALLS}
    yield {"upstream": upstream, "app": app, "recordings": recordings, "answers": answers}
    proxy.close()
    upstream_server.close()


def test_the_proxy_passes_answers_on_unchanged(drifted: dict[str, Any]) -> None:
    for path, _ in DRIFT_CALLS:
        assert drifted["answers"][path].content == drifted["upstream"].sent[path], path
    assert drifted["answers"]["/api/v2/jobs/abcDEF/"].status_code == 418
    assert drifted["answers"]["/api/v2/files/abcDEF/contents/"].headers["Content-Range"] == "bytes 0-99/1000"


def test_the_report_names_exactly_the_drift(drifted: dict[str, Any]) -> None:
    report = drifted["app"].report
    assert drift_set(report.drift()) == EXPECTED_DRIFT, report.markdown()
    by_where = {e["where"]: e for e in report.drift()}
    assert by_where["body fullName"]["category"] == "missing"
    assert by_where["body full_name"]["category"] == "unexpected"
    assert by_where["body full_name"]["example"]["value"] != "Jane Doe"  # the example is anonymized
    markdown = report.markdown()
    assert "What the platform answered that the spec does not allow" in markdown and "full_name" in markdown
    assert KEY not in json.dumps(report.to_json()) and EMAIL not in json.dumps(report.to_json()) + markdown


def test_check_spec_finds_the_same_drift_offline(drifted: dict[str, Any], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert drift_set(check_recordings(drifted["recordings"]).drift()) == EXPECTED_DRIFT
    code = main(["check-spec", "--recordings", str(drifted["recordings"]), "--report", str(tmp_path / "drift")])
    assert code == 1
    assert "full_name" in capsys.readouterr().out
    saved = json.loads((tmp_path / "drift.json").read_text())
    assert drift_set(saved["drift"]) == EXPECTED_DRIFT
    assert (tmp_path / "drift.md").read_text().startswith("# Drift")


def test_replay_answers_the_recorded_bytes(drifted: dict[str, Any]) -> None:
    server = ThreadServer(ReplayApp(drifted["recordings"]))
    try:
        recorded = list(read_recordings(drifted["recordings"]))
        assert len(recorded) == len(DRIFT_CALLS)
        for exchange in recorded:
            request, response = exchange["request"], exchange["response"]
            answer = requests.request(request["method"], server.base_url + request["path"],
                                      headers=request["headers"], timeout=30)
            assert answer.status_code == response["status"]
            assert answer.content == body_bytes(response)
            assert answer.headers.get("Content-Range") == response["headers"].get("Content-Range")
        # nothing in the core types page needed anonymizing: replay gives the platform's literal bytes
        page = requests.get(server.base_url + "/api/v2/coretypes", timeout=30)
        assert page.content == drifted["upstream"].sent["/api/v2/coretypes/"]
        missing = requests.get(server.base_url + "/api/v2/jobs/zzzzzz/", timeout=30)
        assert missing.status_code == 404 and missing.headers["X-Rescale-Mock-Replay"] == "miss"
    finally:
        server.close()


def test_serve_catalog_from_recordings(drifted: dict[str, Any]) -> None:
    args = build_parser().parse_args(["serve", "--catalog-from", str(drifted["recordings"]), "--api-key", KEY])
    config = config_from(args)
    recorded, = config.catalogs  # one overlay, replacing the bundled lists it holds (merge_catalogs)
    assert [c["code"] for c in recorded["coreTypes"]] == ["onyx-real"] and "coreTypes" in recorded["replace"]
    app = create_app(config)
    try:
        client, headers = app.test_client(), {"Authorization": f"Token {KEY}"}
        page = client.get("/api/v2/coretypes/", headers=headers).get_json()
        assert [(c["code"], c["name"]) for c in page["results"]] == [("onyx-real", "Onyx (recorded)")]
        job = client.post("/api/v2/jobs/", headers=headers, json={"name": "j", "jobanalyses": [{
            "analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
            "hardware": {"coreType": "onyx-real", "coresPerSlot": page["results"][0]["cores"][0]}}]})
        assert job.status_code == 201, job.get_json()
        assert client.post("/api/v2/jobs/", headers=headers, json={"name": "j", "jobanalyses": [{
            "analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
            "hardware": {"coreType": "granite", "coresPerSlot": 2}}]}).status_code == 400  # not in the real catalog
    finally:
        app.extensions["rescale_mock"].close()


def test_serve_catalog_from_recordings_and_a_catalog_file_merge(drifted: dict[str, Any], tmp_path: Path) -> None:
    """One mechanism (merge_catalogs): the recorded lists replace the bundled ones, a --catalog file adds to them."""
    extra = tmp_path / "mine.yaml"
    extra.write_text("coreTypes: [{code: ruby, cores: [1, 2]}]\n"
                     "analyses: [{code: my_solver, versions: [{versionCode: '2.1'}]}]\n", encoding="utf-8")
    args = build_parser().parse_args(["serve", "--catalog-from", str(drifted["recordings"]), "--catalog", str(extra),
                                      "--api-key", KEY])
    app = create_app(config_from(args))
    try:
        client, headers = app.test_client(), {"Authorization": f"Token {KEY}"}
        page = client.get("/api/v2/coretypes/", headers=headers).get_json()
        cores = {c["code"]: c["cores"][0] for c in page["results"]}
        assert sorted(cores) == ["onyx-real", "ruby"]
        for code, core in (("user_included", "onyx-real"), ("my_solver", "ruby"), ("my_solver", "onyx-real")):
            job = client.post("/api/v2/jobs/", headers=headers, json={"name": "j", "jobanalyses": [{
                "analysis": {"code": code, "version": "0" if code == "user_included" else "2.1"},
                "command": "echo hi", "hardware": {"coreType": core, "coresPerSlot": cores[core]}}]})
            assert job.status_code == 201, (code, core, job.get_json())
    finally:
        app.extensions["rescale_mock"].close()


def test_serve_catalog_from_a_folder_without_catalog_calls_says_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no recorded core types"):
        serve_catalog(tmp_path)


# -- anonymized recordings of a real flow --------------------------------------------------------------------------
@pytest.mark.served
def test_recordings_hold_no_key_email_name_or_original_id(rescale_mock_served: Fake, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="rescale_mock.proxy")
    proxy, app = start_proxy(rescale_mock_served.base_url, record=tmp_path / "rec")
    try:
        api = requests.Session()
        api.headers["Authorization"] = f"Token {rescale_mock_served.api_key}"
        url = proxy.base_url
        user = api.get(f"{url}/api/v2/users/me/", timeout=30).json()
        uploaded = api.post(f"{url}/api/v2/files/contents/", files={"file": ("inputs.txt", b"mail me: " +
                            user["email"].encode())}, timeout=30).json()
        job = api.post(f"{url}/api/v2/jobs/", timeout=30, json={"name": "Secret wing study", "jobanalyses": [{
            "analysis": {"code": "user_included", "version": "0"}, "command": "cat inputs.txt",
            "hardware": {"coreType": "granite", "coresPerSlot": 2}, "inputFiles": [{"id": uploaded["id"]}]}]}).json()
        api.get(f"{url}/api/v2/jobs/{job['id']}/", timeout=30).raise_for_status()
        api.get(f"{url}/api/v2/files/", params={"page_size": 1}, timeout=30).raise_for_status()
        assert api.get(f"{url}/api/v2/files/{uploaded['id']}/contents/", timeout=30).content.endswith(
            user["email"].encode())
    finally:
        proxy.close()
    text = "\n".join(p.read_text() for p in sorted((tmp_path / "rec" / "exchanges").glob("*.json")))
    originals = [rescale_mock_served.api_key, user["email"], user["id"], user["fullName"], uploaded["id"], job["id"],
                 "Secret wing study"]
    for original in originals:
        assert original not in text, original
    assert not re.search(r"[\w.+-]+@example\.com", text)  # the fake's emails all end so
    # consistently: the job id recorded in the create's answer is the one in the GET's recorded path
    recorded = {e["operationId"]: e for e in read_recordings(tmp_path / "rec")}
    stand_in = json.loads(recorded["createJob"]["response"]["body"])["id"]
    assert recorded["getJob"]["request"]["path"] == f"/api/v2/jobs/{stand_in}/"
    assert len(stand_in) == len(job["id"])
    assert "Authorization" not in text and not app.report.drift()
    assert caplog.records and rescale_mock_served.api_key not in caplog.text  # each exchange logged, never the key


def test_scrubber_keeps_length_classes_and_consistency() -> None:
    scrub = Scrubber()
    scrub.learn_authorization(f"Token {KEY}")
    scrub.learn_json({"id": "xDdRk", "owner": "Jane Doe", "email": EMAIL, "company": {"code": "c", "name": "Acme"},
                      "results": [{"code": "granite", "name": "Granite"}]})
    text = scrub.text(f'{{"id":"xDdRk","path":"user/user_xDdRk/a","by":"Jane Doe <{EMAIL}>","k":"{KEY}",'
                      '"t":"Granite"}')
    assert "xDdRk" not in text and "Jane Doe" not in text and EMAIL not in text and KEY not in text
    assert "Granite" in text  # catalog names stay
    new_id = json.loads(text)["id"]
    assert len(new_id) == 5 and new_id[0].islower() and new_id[1].isupper() and f"user_{new_id}/" in text
    assert scrub.text("xDdRk") == new_id  # the same stand-in every time


def test_a_spec_check_reports_a_field_missing_at_the_root() -> None:
    from rescale_mock.spec import rescale_spec

    body = rescale_spec().operations["getCurrentUser"].responses["200"]["application/json"]
    assert body.check is not None and any("email" in message for message in body.check({"id": "abcde"}))


def test_values_that_naturally_differ_are_not_drift() -> None:
    from jsonschema import Draft202012Validator

    schema = {"type": "object", "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z]{5,6}$"}, "dateInserted": {"type": "string", "pattern": "Z$"},
        "status": {"type": "string", "enum": ["Completed"]}, "cores": {"type": "integer"}}}
    instance = {"id": "12345678", "dateInserted": "2024-01-01T00:00:00+00:00", "status": "Exploded", "cores": "2"}
    found = {(f.kind, f.where) for f in explain(Draft202012Validator(schema).iter_errors(instance))}
    assert found == {("invalid-value", "body status"), ("invalid-value", "body cores")}


# -- large transfers ---------------------------------------------------------------------------------------------
def _peak_rss_kib(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return tuple(int(re.search(rf"{name}:\s+(\d+)", status)[1]) for name in ("VmRSS", "VmHWM"))  # type: ignore


@pytest.mark.slow
@pytest.mark.served
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the proxy's RSS from /proc")
def test_large_transfers_stream_through_in_bounded_memory(rescale_mock_served: Fake, tmp_path: Path) -> None:
    size = 200 << 20
    source = tmp_path / "big.bin"
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(source, "wb") as fh:
        for i in range(size >> 20):
            chunk = block[i:] + block[:i]
            fh.write(chunk)
            digest.update(chunk)
    process = subprocess.Popen([sys.executable, "-m", "rescale_mock.cli", "proxy", "--upstream",
                                rescale_mock_served.base_url, "--port", "0", "--report", str(tmp_path / "drift")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        url = next(m[1] for line in process.stdout if (m := re.match(r"ready: (\S+)", line)))
        threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe drained
        headers = {"Authorization": f"Token {rescale_mock_served.api_key}"}
        requests.get(f"{url}/api/v2/files/", headers=headers, timeout=30).raise_for_status()  # warm: spec compiled
        baseline, _ = _peak_rss_kib(process.pid)
        with open(source, "rb") as fh:
            form = MultipartEncoder({"file": ("big.bin", fh, "application/octet-stream")})
            uploaded = requests.post(f"{url}/api/v2/files/contents/", data=form, timeout=600,
                                     headers={**headers, "Content-Type": form.content_type})
        assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()["id"]
        whole = hashlib.sha256()
        with requests.get(f"{url}/api/v2/files/{file_id}/contents/", headers=headers, stream=True, timeout=600) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(1 << 20):
                whole.update(chunk)
        assert whole.hexdigest() == digest.hexdigest()
        start, end = 50 << 20, (150 << 20) - 1
        with requests.get(f"{url}/api/v2/files/{file_id}/contents/", stream=True, timeout=600,
                          headers={**headers, "Range": f"bytes={start}-{end}"}) as r:
            assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
            received = sum(len(chunk) for chunk in r.iter_content(1 << 20))
        assert received == end - start + 1
        _, peak = _peak_rss_kib(process.pid)
        moved = (2 * size + received) >> 20
        print(f"proxy RSS: {baseline >> 10} MiB before, peak {peak >> 10} MiB while moving {moved} MiB")
        assert peak - baseline < 64 << 10, f"proxy RSS grew by {(peak - baseline) >> 10} MiB moving {size >> 20} MiB"
        report = requests.get(f"{url}/_proxy/report", timeout=30).json()
        assert report["operations"]["downloadFile"]["statuses"] == {"200": 1, "206": 1}
        assert drift_set(report["drift"]) == set(), report["drift"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert json.loads((tmp_path / "drift.json").read_text())["exchanges"] == 4  # written on the way out


@pytest.mark.served
def test_a_chunked_upload_and_a_head_pass_through(rescale_mock_served: Fake) -> None:
    proxy, app = start_proxy(rescale_mock_served.base_url)
    try:
        headers = {"Authorization": f"Token {rescale_mock_served.api_key}"}
        form = MultipartEncoder({"file": ("c.txt", b"hello chunked\n" * 5000, "text/plain")})
        chunks = iter(lambda: form.read(8192), b"")  # a generator body: sent with Transfer-Encoding: chunked
        uploaded = requests.post(f"{proxy.base_url}/api/v2/files/contents/", data=chunks, timeout=30,
                                 headers={**headers, "Content-Type": form.content_type})
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["decryptedSize"] == 14 * 5000
        head = requests.head(f"{proxy.base_url}/api/v2/files/{uploaded.json()['id']}/contents/", headers=headers,
                             timeout=30)
        assert head.status_code == 200 and head.headers["Content-Length"] == str(14 * 5000) and not head.content
        assert drift_set(app.report.drift()) == set(), app.report.markdown()
    finally:
        proxy.close()


@pytest.mark.served
@pytest.mark.parametrize("rewrite", [True, False])
def test_page_links_point_to_the_proxy_unless_told_not_to(rescale_mock_served: Fake, rewrite: bool) -> None:
    proxy = ThreadServer(ProxyApp(rescale_mock_served.base_url, DriftReport(), rewrite_links=rewrite))
    try:
        page = requests.get(f"{proxy.base_url}/api/v2/coretypes/", params={"page_size": 2}, timeout=30,
                            headers={"Authorization": f"Token {rescale_mock_served.api_key}"}).json()
        expected = proxy.base_url if rewrite else rescale_mock_served.base_url
        assert page["next"] == f"{expected}/api/v2/coretypes/?page_size=2&page=2"
        assert proxy.app.report.drift() == []  # the check sees the upstream's own links either way
    finally:
        proxy.close()


def test_the_proxy_command_wants_an_http_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["proxy", "--upstream", "platform.rescale.com"])
    assert "not an http(s) base URL" in capsys.readouterr().err


def test_replay_command_serves_a_recording_folder(drifted: dict[str, Any]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "rescale_mock.cli", "replay", str(drifted["recordings"]),
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        url = next(m[1] for line in process.stdout if (m := re.match(r"ready: (\S+)", line)))
        page = requests.get(f"{url}/api/v2/coretypes/", timeout=30)
        assert page.status_code == 200 and page.content == drifted["upstream"].sent["/api/v2/coretypes/"]
    finally:
        process.terminate()
        process.wait(timeout=30)
