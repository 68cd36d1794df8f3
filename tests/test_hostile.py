"""Hostile input: whatever a client or a fuzzer sends gets a Rescale-style 4xx, stores nothing and leaves the server
unharmed. A sweep over every operation of both specs (hypothesis puts lone surrogates, NaN/Infinity, huge integers,
deep nesting and oversized arrays into parameters and bodies), then one regression test per item of the audit
(issue #11): request cost, lone surrogates, NaN in control bodies, huge integers and deep nesting.

The sweep runs in this process (a Flask test client, so thousands of requests stay quick); the regression tests run
against both the in-process server and a `rescale-mock serve` process (the `fake` fixture).
"""
from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rescale_mock import Config, create_app
from rescale_mock.drf_errors import MAX_ERRORS
from rescale_mock.jsonbody import MAX_DEPTH
from rescale_mock.spec import CompiledSpec, Operation, control_spec, rescale_spec
from rescale_mock.testing import Fake

KEY = "hostile-tenant-key-0001"
HEADERS = {"Authorization": f"Token {KEY}"}
SECONDS_PER_REQUEST = 10.0  # generous: a 2.5 MiB body on a busy CI machine; the audit measured 47 s
PEAK_BYTES = 96 * 2**20  # Python allocations of one hostile request; the audit measured 4 GB
LIMIT = 5 * 2**19  # Config.max_json_body's default

# -- hostile values ----------------------------------------------------------------------------------------------
# Raw JSON text, since json.dumps cannot write most of them: each replaces a placeholder string in a body.
HUGE_DIGITS = "9" * 5000
RAW_JSON_VALUES = {
    "surrogate": '"\\ud800"',
    "surrogate-key": '{"\\udfff": 1}',
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "overflowing-float": "1e999",
    "huge-int": HUGE_DIGITS,
    "huge-negative-int": "-" + HUGE_DIGITS,
    "long-int": "9" * 4000,  # parses (Python's limit is 4300 digits): the spec's maximum must refuse it
    "huge-digit-string": f'"{HUGE_DIGITS}"',
    "deep": "[" * 10_000 + "]" * 10_000,
    "deep-objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "just-too-deep": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    "oversized-array": "[" + "0," * 1_000_000 + "0]",  # 2 MB, under the body limit
    "many-keys": "{" + ",".join(f'"k{i}":0' for i in range(100_000)) + "}",
    "long-string": '"' + "x" * 2_000_000 + '"',
}
# Parameters travel as text: percent-encoded CESU bytes of a surrogate, huge numbers, long text.
PARAM_VALUES = ["%ED%A0%80", "%ED%B0%80x", HUGE_DIGITS, "-" + HUGE_DIGITS, "9" * 4000, "NaN", "Infinity", "1e999",
                "x" * 20_000, "%00", "%FF%FE", "-1", "0"]
RANGE_VALUES = [f"bytes={HUGE_DIGITS}-", f"bytes=0-{HUGE_DIGITS}", f"bytes=-{HUGE_DIGITS}",
                f"bytes={HUGE_DIGITS}-{HUGE_DIGITS}", "bytes=" + "0-1," * 10_000 + "0-1", "bytes=-0"]
PLACEHOLDER = "@@HOSTILE@@"


def both_specs() -> list[tuple[str, CompiledSpec, Operation]]:
    return [(name, spec, op) for name, spec in (("api", rescale_spec()), ("control", control_spec()))
            for op in spec.operations.values()]


def example_body(spec: CompiledSpec, op: Operation) -> Any:
    """The operation's documented example body (or `{}`), the base a hostile value is put into."""
    raw = spec.document["paths"][op.path][op.method.lower()].get("requestBody")
    content = spec.resolve(raw or {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return content["example"]
    examples = content.get("examples") or {}
    first = next(iter(examples.values()), None)
    return spec.resolve(first)["value"] if first else {}


def _places(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON value where another value could stand (the root, each member, a new key)."""
    yield path
    if isinstance(value, dict):
        yield (*path, "hostileExtraKey")
        for key, item in value.items():
            yield from _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _places(item, (*path, index))


def _put(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new
    return copy


def hostile_body(base: Any, place: tuple[Any, ...], raw_value: str) -> bytes:
    return json.dumps(_put(base, place, PLACEHOLDER)).replace(f'"{PLACEHOLDER}"', raw_value).encode()


# -- the in-process server and its state -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app() -> Any:
    application = create_app(Config(api_keys=(KEY,), clock_mode="manual", validate_responses=True, seed=7))
    yield application
    application.extensions["rescale_mock"].close()


@pytest.fixture(scope="module")
def objects(app: Any) -> dict[str, str]:
    """A file, a saved job and a cluster, so that path parameters can name real objects."""
    client = app.test_client()
    file = client.post("/api/v2/files/contents/", headers=HEADERS,
                       data={"file": (io.BytesIO(b"1 2 3\n"), "input.txt")}).get_json()
    job = client.post("/api/v2/jobs/", headers=HEADERS, json={"name": "kept", "jobanalyses": [{
        "analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
        "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1}}]}).get_json()
    cluster = client.post("/api/v3/clusters/", headers=HEADERS, json={
        "name": "kept", "hardware": {"coreType": "granite", "coresPerSlot": 2}}).get_json()
    return {"file_id": file["id"], "job_id": job["id"], "cluster_id": cluster["id"], "run_id": "1",
            "path": "process_output.log", "fault_id": "f1"}


def state_digest(app: Any) -> str:
    """Everything a request could change, as one digest: rows, tenant settings, faults, server-wide defaults."""
    backend = app.extensions["rescale_mock"]
    db = backend.db
    parts = [
        [tuple(r) for r in db.query("SELECT id, settings FROM tenants ORDER BY id")],
        [tuple(r) for r in db.query("SELECT id, name, type_id, size, job_id FROM files ORDER BY id")],
        [tuple(r) for r in db.query("SELECT id, doc, state FROM jobs ORDER BY id")],
        [tuple(r) for r in db.query("SELECT id, doc, state FROM clusters ORDER BY id")],
        [t.settings for t in backend.tenants.all()],
        backend.faults.list(None), backend.jobs.default_scenario,
        [backend.tenants.clock_defaults.mode, backend.tenants.clock_defaults.factor],
    ]
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


def send(app: Any, op: Operation, ids: dict[str, str], *, params: dict[str, str] | None = None,
         headers: dict[str, str] | None = None, body: bytes | None = None, token: bool = True) -> Any:
    """One request, timed; the response (werkzeug's test response) with `.seconds` added."""
    params = params or {}
    path = op.path
    for param in op.parameters:
        if param.location == "path":
            value = params.get(param.name, ids.get(param.name, "x"))
            path = path.replace("{" + param.name + "}", value)
    query = "&".join(f"{quote(k)}={v}" for k, v in params.items()
                     if any(p.name == k and p.location == "query" for p in op.parameters))
    sent = {**(HEADERS if token else {}), **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    started = time.perf_counter()
    response = app.test_client().open(path, method=op.method, query_string=query, headers=sent, data=body)
    response.seconds = time.perf_counter() - started
    return response


def assert_unharmed(app: Any, response: Any, before: str, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.get_data()[:300]!r}"
    assert response.seconds < SECONDS_PER_REQUEST, f"{what}: took {response.seconds:.1f} s"
    if 400 <= response.status_code < 500:
        assert state_digest(app) == before, f"{what}: a {response.status_code} changed the server's state"
        body = response.get_json(silent=True)
        assert isinstance(body, dict) and body, f"{what}: not a Rescale-style error: {response.get_data()[:200]!r}"
        assert len(response.get_data()) < 200_000, f"{what}: a {len(response.get_data())}-byte error"


# Operations that change state even when every input is valid and that take no input a hostile value could go to
# (reset, clearFaults, clearJournal): sending them hostile values tests nothing, and they would undo the fixture.
NO_INPUT = {op.id for _, _, op in both_specs() if not op.parameters and not op.bodies}
SWEPT = [(name, op) for name, _, op in both_specs() if op.id not in NO_INPUT]
SPECS = {"api": rescale_spec(), "control": control_spec()}


@pytest.mark.parametrize("spec_name, op", SWEPT, ids=[f"{n}:{op.id}" for n, op in SWEPT])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_hostile_values_in_every_operation(app: Any, objects: dict[str, str], spec_name: str, op: Operation,
                                           data: st.DataObject) -> None:
    spec = SPECS[spec_name]
    targets = [("param", p) for p in op.parameters] + [("body", None)] * bool(
        "application/json" in op.bodies or "multipart/form-data" in op.bodies)
    where, param = data.draw(st.sampled_from(targets), label="where")
    before = state_digest(app)
    if where == "param":
        values = RANGE_VALUES + PARAM_VALUES[2:] if param.name == "Range" else (
            PARAM_VALUES[2:] if param.location == "header" else PARAM_VALUES)
        value = data.draw(st.sampled_from(values), label=param.name)
        if param.location == "header":
            response = send(app, op, objects, headers={param.name: value})
        else:
            response = send(app, op, objects, params={param.name: value})
        assert_unharmed(app, response, before, f"{op.id} {param.name}={value[:40]}")
        return
    if "multipart/form-data" in op.bodies:
        field = data.draw(st.sampled_from(["typeId", "type_id", "file"]), label="field")
        # (a surrogate's bytes in a form: test_2_surrogates_in_urls_and_forms_are_plain_text; this client cannot)
        text = data.draw(st.sampled_from([v for v in PARAM_VALUES if "%" not in v] + ["\ufffd"]), label="text")
        form = {"file": (io.BytesIO(b"data"), "f.txt")} if field != "file" else {}
        form[field] = text if field != "file" else (io.BytesIO(b"data"), text.encode("utf-8", "replace").decode())
        started = time.perf_counter()
        response = app.test_client().open(op.path, method=op.method, headers=HEADERS, data=form)
        response.seconds = time.perf_counter() - started
        assert_unharmed(app, response, before, f"{op.id} form {field}")
        return
    base = example_body(spec, op)
    place = data.draw(st.sampled_from(list(_places(base))), label="place")
    kind = data.draw(st.sampled_from(sorted(RAW_JSON_VALUES)), label="value")
    response = send(app, op, objects, body=hostile_body(base, place, RAW_JSON_VALUES[kind]))
    assert_unharmed(app, response, before, f"{op.id} {kind} at {place}")


JSON_BODIES = [(name, op) for name, _, op in both_specs() if "application/json" in op.bodies]


@pytest.mark.parametrize("spec_name, op", JSON_BODIES, ids=[f"{n}:{op.id}" for n, op in JSON_BODIES])
@pytest.mark.parametrize("kind", ["oversized-array", "deep", "many-keys", "long-string", "huge-int"])
def test_the_costliest_bodies_stay_cheap(app: Any, objects: dict[str, str], spec_name: str, op: Operation,
                                         kind: str) -> None:
    """Time of one request carrying the worst bodies under the limit, at the root and deep in the body."""
    base = example_body(SPECS[spec_name], op)
    places = list(_places(base))
    for place in {places[0], places[-1]}:  # the root, and the last (often the deepest) member
        before = state_digest(app)
        response = send(app, op, objects, body=hostile_body(base, place, RAW_JSON_VALUES[kind]))
        assert_unharmed(app, response, before, f"{op.id} {kind} at {place}")


@pytest.mark.parametrize("op_id", ["createJob", "updateFile", "advanceClock"])
@pytest.mark.parametrize("kind", ["oversized-array", "deep", "many-keys", "long-string", "huge-int"])
def test_the_costliest_bodies_take_little_memory(app: Any, objects: dict[str, str], op_id: str, kind: str) -> None:
    """Python allocations of one such request, traced (tracing a million allocations takes ten times as long, so
    a few operations only: the cost is in reading the body, the same for all)."""
    spec_name, op = next((n, op) for n, op in JSON_BODIES if op.id == op_id)
    base = example_body(SPECS[spec_name], op)
    tracemalloc.start()
    try:
        response = send(app, op, objects, body=hostile_body(base, list(_places(base))[-1], RAW_JSON_VALUES[kind]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code < 500
    assert peak < PEAK_BYTES, f"{op.id} {kind}: {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("spec_name, op", JSON_BODIES, ids=[f"{n}:{op.id}" for n, op in JSON_BODIES])
def test_a_body_over_the_limit_is_413_and_not_read(app: Any, objects: dict[str, str], spec_name: str,
                                                  op: Operation) -> None:
    before = state_digest(app)
    response = send(app, op, objects, body=b'{"name": "' + b"x" * LIMIT + b'"}')
    assert response.status_code == 413
    assert response.get_json() == {"detail": f"Request body is larger than {LIMIT} bytes, the most this server "
                                             "reads as JSON."}
    assert state_digest(app) == before


# -- regression tests, one per audit item (in-process and served) ------------------------------------------------
def analysis(command: str = "echo hi", **hardware: Any) -> dict[str, Any]:
    return {"analysis": {"code": "user_included", "version": "0"}, "command": command,
            "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1, **hardware}}


def job_count(fake: Fake, api: requests.Session) -> int:
    return api.get(fake.url("/api/v2/jobs/")).json()["count"]


def post_raw(api: requests.Session, url: str, text: str | bytes, method: str = "POST") -> requests.Response:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return api.request(method, url, data=data, headers={"Content-Type": "application/json"}, timeout=60)


def test_1_a_million_invalid_analyses_cost_little(fake: Fake, api: requests.Session) -> None:
    """The audit: 4 GB RSS, 47 s and a 75 MB answer. Now: the body is read, `maxItems` refuses it, done."""
    started = time.perf_counter()
    response = post_raw(api, fake.url("/api/v2/jobs/"), '{"name": "x", "jobanalyses": [' + "1," * 999_999 + "1]}")
    assert time.perf_counter() - started < SECONDS_PER_REQUEST
    assert response.status_code == 400
    assert response.json() == {"jobanalyses": ["Ensure this field has no more than 20 elements."]}
    assert job_count(fake, api) == 0


def test_1_a_body_over_the_limit_is_413(fake: Fake, api: requests.Session) -> None:
    response = post_raw(api, fake.url("/api/v2/jobs/"), '{"name": "' + "x" * (10 * 2**20) + '"}')
    assert response.status_code == 413 and set(response.json()) == {"detail"}
    assert job_count(fake, api) == 0


def test_1_a_chunked_body_over_the_limit_is_413(fake: Fake, api: requests.Session) -> None:
    """Without a Content-Length the server reads one byte past the limit, then stops."""
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(12):
            yield b"x" * 2**18
        yield b'"}'

    response = api.post(fake.url("/api/v2/jobs/"), data=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and set(response.json()) == {"detail"}
    assert job_count(fake, api) == 0


def test_1_the_body_limit_is_configurable() -> None:
    app = create_app(Config(api_keys=(KEY,), max_json_body=100, validate_responses=True))
    try:
        client = app.test_client()
        small = client.post("/api/v2/jobs/", headers=HEADERS, json={"name": "x", "jobanalyses": [analysis()]})
        assert small.status_code == 413
        assert small.get_json() == {"detail": "Request body is larger than 100 bytes, the most this server reads "
                                              "as JSON."}
        assert client.put("/_fake/clock/", json={"mode": "manual"}).status_code == 200  # 19 bytes
    finally:
        app.extensions["rescale_mock"].close()


def test_1_reported_errors_are_capped(fake: Fake, api: requests.Session) -> None:
    """20 analyses of 1000 bad input references each: the first MAX_ERRORS errors are reported, in DRF's shape."""
    bad = {**analysis(), "inputFiles": [{"id": 7}] * 1000}
    response = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [bad] * 20})
    assert response.status_code == 400
    items = response.json()["jobanalyses"]
    reported = sum(len(ref.get("id", [])) for item in items for ref in item.get("inputFiles", []))
    assert reported == MAX_ERRORS
    assert items[0]["inputFiles"][0] == {"id": ["Not a valid string."]}


SURROGATE_FIELD = {"name": ["Not a valid string: it holds a lone UTF-16 surrogate, which is not Unicode text."]}


@pytest.mark.parametrize("body, field", [
    ('{"name": "\\ud800", "jobanalyses": [ANALYSIS]}', "name"),
    ('{"name": "x", "description": "ok \\udfff", "jobanalyses": [ANALYSIS]}', "description"),
    ('{"name": "x", "jobanalyses": [ANALYSIS_BAD_COMMAND]}', "jobanalyses"),
    ('{"name": "x", "jobanalyses": [ANALYSIS], "\\ud800": 1}', "non_field_errors"),
], ids=["name", "description", "command", "key"])
def test_2_a_lone_surrogate_in_a_job_is_400_and_stores_nothing(fake: Fake, api: requests.Session, body: str,
                                                               field: str) -> None:
    good = json.dumps(analysis())
    text = body.replace("ANALYSIS_BAD_COMMAND", good.replace('"echo hi"', '"echo \\ud83d"')).replace("ANALYSIS", good)
    response = post_raw(api, fake.url("/api/v2/jobs/"), text)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    if field == "name":
        assert response.json() == SURROGATE_FIELD
    if field == "jobanalyses":
        assert response.json()["jobanalyses"][0]["command"] == SURROGATE_FIELD["name"]
    assert job_count(fake, api) == 0
    assert api.get(fake.url("/api/v2/jobs/")).status_code == 200


def test_2_a_valid_pair_is_text(fake: Fake, api: requests.Session) -> None:
    text = json.dumps({"name": "x", "jobanalyses": [analysis()]}).replace('"x"', '"snake \\ud83d\\udc0d"')
    response = post_raw(api, fake.url("/api/v2/jobs/"), text)
    assert response.status_code == 201 and response.json()["name"] == "snake \U0001F40D"


def test_2_a_lone_surrogate_in_a_rename_or_a_scenario_reason_changes_nothing(fake: Fake, api: requests.Session
                                                                             ) -> None:
    file = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("a.txt", b"1")}).json()
    response = post_raw(api, fake.url(f"/api/v2/files/{file['id']}/"), '{"name": "b\\ud800.txt"}', "PATCH")
    assert response.status_code == 400 and response.json() == SURROGATE_FIELD
    assert api.get(fake.url(f"/api/v2/files/{file['id']}/")).json()["name"] == "a.txt"
    job = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [analysis()]}).json()
    for path in (f"/_fake/jobs/{job['id']}/scenario/", "/_fake/scenario/"):
        response = post_raw(api, fake.url(path), '{"outcome": "fail", "reason": "\\udc00"}', "PUT")
        assert response.status_code == 400 and list(response.json()) == ["reason"]
    api.post(fake.url(f"/api/v2/jobs/{job['id']}/submit/"))
    fake.control.advance(3600)
    assert api.get(fake.url(f"/api/v2/jobs/{job['id']}/statuses/")).json()["results"][0]["statusReason"] == \
        "Completed successfully"


def test_2_surrogates_in_urls_and_forms_are_plain_text(fake: Fake, api: requests.Session) -> None:
    """URLs and form fields are decoded with replacement characters: a surrogate's bytes are never a surrogate."""
    for url in ("/api/v2/jobs/%ED%A0%80/", "/api/v2/files/?search=%ED%A0%80", "/api/v2/jobs/?ordering=%ED%A0%80"):
        assert api.get(fake.url(url)).status_code in (200, 400, 404)
    surrogate_bytes = "\ud800".encode("utf-8", "surrogatepass")
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("a.txt", b"1")},
                        data={"typeId": surrogate_bytes})
    assert response.status_code == 400 and list(response.json()) == ["typeId"]


def test_2_listings_survive_rows_written_by_older_versions(tmp_path: Any) -> None:
    """Older versions stored lone surrogates in job documents; they read back as U+FFFD instead of a 500."""
    app = create_app(Config(api_keys=(KEY,), data_dir=tmp_path, clock_mode="manual", validate_responses=True))
    client = app.test_client()
    try:
        job = client.post("/api/v2/jobs/", headers=HEADERS, json={"name": "x", "jobanalyses": [
            analysis("echo bad")]}).get_json()
        db = app.extensions["rescale_mock"].db
        with db.transaction() as conn:
            doc = json.loads(conn.execute("SELECT doc FROM jobs WHERE id = ?", (job["id"],)).fetchone()[0])
            doc["name"], doc["description"] = "\ud800", "d\udfff"
            doc["jobanalyses"][0]["command"] = "echo \ud800"
            conn.execute("UPDATE jobs SET doc = ? WHERE id = ?", (json.dumps(doc), job["id"]))
        listing = client.get("/api/v2/jobs/", headers=HEADERS)
        assert listing.status_code == 200 and listing.get_json()["results"][0]["name"] == "\ufffd"
        assert client.get(f"/api/v2/jobs/{job['id']}/", headers=HEADERS).get_json()["description"] == "d\ufffd"
        assert client.post(f"/api/v2/jobs/{job['id']}/submit/", headers=HEADERS).status_code == 200
        client.post("/_fake/clock/advance/", json={"seconds": 3600})
        files = client.get(f"/api/v2/jobs/{job['id']}/files/", headers=HEADERS).get_json()["results"]
        log = client.get(f"/api/v2/files/{files[0]['id']}/contents/", headers=HEADERS).get_data()
        assert "echo \ufffd".encode() in log
    finally:
        app.extensions["rescale_mock"].close()


@pytest.mark.parametrize("path, method, body", [
    ("/_fake/clock/advance/", "POST", '{"seconds": NaN}'),
    ("/_fake/clock/advance/", "POST", '{"seconds": Infinity}'),
    ("/_fake/clock/advance/", "POST", '{"seconds": 1e999}'),
    ("/_fake/clock/", "PUT", '{"factor": NaN}'),
    ("/_fake/clock/", "PUT", '{"mode": "scaled", "factor": Infinity}'),
    ("/_fake/scenario/", "PUT", '{"outcome": "succeed", "runSeconds": NaN}'),
    ("/_fake/faults/", "POST", '{"action": "status", "probability": NaN}'),
    ("/api/v2/jobs/", "POST", '{"name": "x", "jobanalyses": [], "monteCarloIterations": -Infinity}'),
], ids=["advance-nan", "advance-infinity", "advance-overflow", "factor-nan", "factor-infinity", "run-seconds-nan",
        "probability-nan", "api-infinity"])
def test_3_nan_and_infinity_are_400_and_change_nothing(fake: Fake, api: requests.Session, path: str, method: str,
                                                       body: str) -> None:
    clock = fake.control.clock()
    response = post_raw(api, fake.url(path), body, method)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")
    assert fake.control.clock() == clock
    assert fake.control.scenario(outcome="succeed")["runSeconds"] is None  # later calls of the tenant work
    assert api.get(fake.url("/_fake/faults/")).json() == []
    assert job_count(fake, api) == 0


def test_3_a_tenant_changes_only_once_the_store_took_the_change(fake: Fake) -> None:
    if fake.backend is None:
        pytest.skip("reaches into the in-process backend")
    tenants = fake.backend.tenants
    tenant = tenants.by_key(fake.api_key)
    settings_before = json.dumps(tenant.settings)
    with pytest.raises(ValueError):  # SQLite's JSON has no NaN: the store refuses it
        tenants.update_clock(tenant, lambda clock, real: clock.advance(float("nan"), real))
    assert json.dumps(tenant.settings) == settings_before
    with pytest.raises(ValueError):
        tenants.save_settings(tenant, {**tenant.settings, "scenario": {"runSeconds": float("inf")}})
    assert json.dumps(tenant.settings) == settings_before
    assert fake.control.advance(60)["now"]


@pytest.mark.parametrize("field, value", [
    ("walltime", HUGE_DIGITS), ("walltime", f'"{HUGE_DIGITS}"'), ("walltime", "9" * 4000),
    ("coresPerSlot", HUGE_DIGITS), ("coresPerSlot", f'"{HUGE_DIGITS}"'), ("slots", "9" * 4000),
    ("slots", '"9999999999"'), ("slots", "0"), ("walltime", '"0"'),
])
def test_4_huge_integers_in_a_job_are_400(fake: Fake, api: requests.Session, field: str, value: str) -> None:
    body = json.dumps({"name": "x", "jobanalyses": [analysis(**{field: "@"})]}).replace('"@"', value)
    response = post_raw(api, fake.url("/api/v2/jobs/"), body)
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert "detail" in body or list(body["jobanalyses"][0]["hardware"]) == [field]
    assert job_count(fake, api) == 0


def test_4_counts_below_one_say_so(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [analysis(slots=0)]})
    assert response.json() == {"jobanalyses": [{"hardware": {"slots": [
        "Ensure this value is greater than or equal to 1."]}}]}


@pytest.mark.parametrize("query", [f"page={HUGE_DIGITS}", f"page_size={HUGE_DIGITS}", "page_size=" + "9" * 4000,
                                   f"page=-{HUGE_DIGITS}"])
def test_4_huge_page_numbers(fake: Fake, api: requests.Session, query: str) -> None:
    response = api.get(fake.url(f"/api/v2/jobs/?{query}"))
    expected = 404 if query.startswith("page=") else 400  # DRF: a page that is not a page is "Invalid page."
    assert response.status_code == expected and response.json()


def test_4_huge_type_id_in_an_upload(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("a.txt", b"1")},
                        data={"typeId": HUGE_DIGITS})
    assert response.status_code == 400 and list(response.json()) == ["typeId"]
    assert api.get(fake.url("/api/v2/files/")).json()["count"] == 0


@pytest.mark.parametrize("header, status, content", [
    (f"bytes={HUGE_DIGITS}-", 416, b""), (f"bytes={HUGE_DIGITS}-{HUGE_DIGITS}", 416, b""),
    (f"bytes=2-{HUGE_DIGITS}", 206, b"23456789"), (f"bytes=-{HUGE_DIGITS}", 206, b"0123456789"),  # the whole file
])
def test_4_huge_range_numbers(fake: Fake, api: requests.Session, header: str, status: int, content: bytes) -> None:
    file = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("a.bin", b"0123456789")}).json()
    response = api.get(fake.url(f"/api/v2/files/{file['id']}/contents/"), headers={"Range": header})
    assert response.status_code == status
    if status == 416:
        assert response.headers["Content-Range"] == "bytes */10"
    else:
        assert response.content == content


def test_4_huge_numbers_in_a_command_act_as_a_shell_would(fake: Fake, api: requests.Session) -> None:
    """`exit N` beyond 64 bits: bash says "numeric argument required" and exits 2; `openssl rand` with such a
    size cannot parse it and writes nothing. The job runs; nothing is a 500."""
    command = f"openssl rand -out big.bin {HUGE_DIGITS}; sleep {HUGE_DIGITS}; exit {HUGE_DIGITS}"
    job = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [analysis(command)]})
    assert job.status_code == 201
    job_id = job.json()["id"]
    assert api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/")).status_code == 200
    fake.control.advance(2 * 3600)  # `sleep` of 5000 digits is `sleep inf`: the walltime (1 hour) ends it
    latest = api.get(fake.url(f"/api/v2/jobs/{job_id}/statuses/")).json()["results"][0]
    assert latest["status"] == "Completed" and latest["statusReason"] == "Job exceeded its walltime"
    names = [f["name"] for f in api.get(fake.url(f"/api/v2/jobs/{job_id}/files/")).json()["results"]]
    assert names == ["process_output.log"]


def test_4_exit_beyond_255_wraps_as_in_a_shell(fake: Fake, api: requests.Session) -> None:
    job_id = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [analysis("exit 258")]}).json()["id"]
    api.post(fake.url(f"/api/v2/jobs/{job_id}/submit/"))
    fake.control.advance(3600)
    files = api.get(fake.url(f"/api/v2/jobs/{job_id}/files/")).json()["results"]
    log = api.get(fake.url(f"/api/v2/files/{files[0]['id']}/contents/")).text
    assert log.splitlines()[-1].endswith("Command exited with status 2")


@pytest.mark.parametrize("body", [
    "[" * 10_000 + "]" * 10_000, '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}",
    '{"name": "x", "jobanalyses": [{"flags": ' + '{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1) + "}]}",
], ids=["root", "field", "just-over-the-limit"])
def test_4_deep_nesting_is_400(fake: Fake, api: requests.Session, body: str) -> None:
    response = post_raw(api, fake.url("/api/v2/jobs/"), body)
    assert response.status_code == 400
    assert response.json() == {"detail": f"JSON parse error - nested deeper than {MAX_DEPTH} levels"}
    response = post_raw(api, fake.url("/_fake/clock/advance/"), body.replace('"name"', '"seconds"'))
    assert response.status_code == 400


def test_4_nesting_within_the_limit_is_stored(fake: Fake, api: requests.Session) -> None:
    flags = json.loads('{"a":' * (MAX_DEPTH - 4) + "1" + "}" * (MAX_DEPTH - 4))
    response = api.post(fake.url("/api/v2/jobs/"), json={"name": "x", "jobanalyses": [{**analysis(), "flags": flags}]})
    assert response.status_code == 201
