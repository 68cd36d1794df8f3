"""Static checks of the hand-written OpenAPI spec (no server needed).

1. the document is valid OpenAPI 3.1;
2. every operation has a unique operationId, exactly one known tag, a summary, a description and a 401;
3. every link targets an existing operation and only names parameters that operation has;
4. every example (media type, parameter, header and schema level) validates against its schema;
5. the set of operationIds is exactly the one the server and client are written against;
6. response schemas are strict: objects with properties list them all as required and are closed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "rescale.yaml"
SPEC_URI = "urn:rescale-spec"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
TAGS = {"meta", "users", "catalog", "files", "jobs", "runs", "clusters", "storage"}

# Hard-coded on purpose: renaming an operation must fail here (server and client use these names).
OPERATION_IDS = {
    # v2
    ("get", "/api/v2/"): "getApiRoot",
    ("get", "/api/v2/users/me/"): "getCurrentUser",
    ("get", "/api/v2/users/me/projects/"): "listProjects",
    ("get", "/api/v2/coretypes/"): "listCoreTypes",
    ("get", "/api/v2/analyses/"): "listAnalyses",
    ("get", "/api/v2/billing/computeprices/"): "listComputePrices",
    ("get", "/api/v2/files/"): "listFiles",
    ("post", "/api/v2/files/contents/"): "uploadFile",
    ("put", "/api/v2/files/contents/"): "uploadFilePut",
    ("get", "/api/v2/files/{file_id}/"): "getFile",
    ("patch", "/api/v2/files/{file_id}/"): "updateFile",
    ("delete", "/api/v2/files/{file_id}/"): "deleteFile",
    ("get", "/api/v2/files/{file_id}/contents/"): "downloadFile",
    ("get", "/api/v2/files/{file_id}/lines/"): "getFileLines",
    ("get", "/api/v2/jobs/"): "listJobs",
    ("post", "/api/v2/jobs/"): "createJob",
    ("get", "/api/v2/jobs/{job_id}/"): "getJob",
    ("patch", "/api/v2/jobs/{job_id}/"): "updateJob",
    ("delete", "/api/v2/jobs/{job_id}/"): "deleteJob",
    ("post", "/api/v2/jobs/{job_id}/submit/"): "submitJob",
    ("post", "/api/v2/jobs/{job_id}/stop/"): "stopJob",
    ("get", "/api/v2/jobs/{job_id}/statuses/"): "listJobStatuses",
    ("get", "/api/v2/jobs/{job_id}/cluster_statuses/"): "listJobClusterStatuses",
    ("get", "/api/v2/jobs/{job_id}/files/"): "listJobFiles",
    ("get", "/api/v2/jobs/{job_id}/runs/"): "listJobRuns",
    ("get", "/api/v2/jobs/{job_id}/runs/{run_id}/"): "getJobRun",
    ("get", "/api/v2/jobs/{job_id}/runs/{run_id}/files/"): "listJobRunFiles",
    ("get", "/api/v2/jobs/{job_id}/runs/{run_id}/tail/{path}"): "tailJobRunFile",
    ("get", "/api/v2/jobs/{job_id}/instances/"): "listJobInstances",
    # v3
    ("get", "/api/v3/users/me/"): "getCurrentUserV3",
    ("get", "/api/v3/coretypes/"): "listCoreTypesV3",
    ("get", "/api/v3/analyses/"): "listAnalysesV3",
    ("get", "/api/v3/jobs/"): "listJobsV3",
    ("post", "/api/v3/jobs/"): "createJobV3",
    ("get", "/api/v3/jobs/{job_id}/"): "getJobV3",
    ("delete", "/api/v3/jobs/{job_id}/"): "deleteJobV3",
    ("get", "/api/v3/jobs/{job_id}/statuses/"): "listJobStatusesV3",
    ("post", "/api/v3/jobs/{job_id}/stop/"): "stopJobV3",
    ("post", "/api/v3/clusters/"): "createCluster",
    ("get", "/api/v3/clusters/"): "listClusters",
    ("get", "/api/v3/clusters/{cluster_id}/"): "getCluster",
    ("post", "/api/v3/clusters/{cluster_id}/start/"): "startCluster",
    ("post", "/api/v3/clusters/{cluster_id}/stop/"): "stopCluster",
    ("get", "/api/v3/clusters/{cluster_id}/statuses/"): "listClusterStatuses",
    ("post", "/api/v3/clusters/{cluster_id}/jobs/"): "submitJobToCluster",
    # unversioned
    ("post", "/api/clusters/{cluster_id}/jobs/"): "submitJobToClusterUnversioned",
    # issue 13: v3 files and jobs, prices, storage devices, share
    ("get", "/api/v3/files/"): "listFilesV3",
    ("put", "/api/v3/files/contents/"): "uploadFilePutV3",
    ("post", "/api/v3/files/contents/"): "uploadFileV3",
    ("get", "/api/v3/files/{file_id}/"): "getFileV3",
    ("delete", "/api/v3/files/{file_id}/"): "deleteFileV3",
    ("patch", "/api/v3/files/{file_id}/"): "updateFileV3",
    ("get", "/api/v3/files/{file_id}/contents/"): "downloadFileV3",
    ("get", "/api/v3/files/{file_id}/lines/"): "getFileLinesV3",
    ("post", "/api/v3/jobs/{job_id}/submit/"): "submitJobV3",
    ("get", "/api/v3/jobs/{job_id}/files/"): "listJobFilesV3",
    ("get", "/api/v3/jobs/{job_id}/runs/"): "listJobRunsV3",
    ("get", "/api/v3/jobs/{job_id}/runs/{run_id}/files/"): "listJobRunFilesV3",
    ("get", "/api/v3/jobs/{job_id}/clusters/"): "listJobClustersV3",
    ("get", "/api/v3/jobs/{job_id}/logs/"): "listJobLogsV3",
    ("get", "/api/v3/users/me/projects/"): "listProjectsV3",
    ("get", "/api/v3/billing/computeprices/"): "listComputePricesV3",
    ("post", "/api/v2/jobs/{job_id}/share/"): "shareJob",
    ("post", "/api/v3/jobs/{job_id}/share/"): "shareJobV3",
    ("get", "/api/v2/storage-devices/"): "listStorageDevices",
    ("post", "/api/v2/storage-devices/"): "createStorageDevice",
    ("get", "/api/v2/storage-devices/{device_id}/"): "getStorageDevice",
    ("get", "/api/v2/storage-devices/{device_id}/statuses/"): "listStorageDeviceStatuses",
    ("post", "/api/v2/storage-devices/{device_id}/submit/"): "submitStorageDevice",
    ("post", "/api/v2/storage-devices/{device_id}/shutdown/"): "shutdownStorageDevice",
    ("post", "/api/v2/storage-devices/{device_id}/file-downloads/"): "downloadFilesToStorageDevice",
    ("post", "/api/v2/jobs/{job_id}/storage-devices/"): "attachStorageDevice",
    ("get", "/api/v2/storage-devices/available-regions/"): "listStorageDeviceRegions",
    ("get", "/api/v3/storage-devices/"): "listStorageDevicesV3",
    ("post", "/api/v3/storage-devices/"): "createStorageDeviceV3",
    ("get", "/api/v3/storage-devices/{device_id}/"): "getStorageDeviceV3",
    ("get", "/api/v3/storage-devices/{device_id}/statuses/"): "listStorageDeviceStatusesV3",
    ("post", "/api/v3/storage-devices/{device_id}/submit/"): "submitStorageDeviceV3",
    ("post", "/api/v3/storage-devices/{device_id}/shutdown/"): "shutdownStorageDeviceV3",
    ("post", "/api/v3/storage-devices/{device_id}/file-downloads/"): "downloadFilesToStorageDeviceV3",
    ("post", "/api/v3/jobs/{job_id}/storage-devices/"): "attachStorageDeviceV3",
}

# Links that must exist on the 201 of create operations: {operationId: {link target operationIds}}.
REQUIRED_LINKS = {
    "createJob": {"getJob", "deleteJob", "submitJob", "listJobStatuses"},
    "createJobV3": {"getJobV3", "deleteJobV3"},
    "uploadFile": {"getFile", "deleteFile", "downloadFile", "updateFile"},
    "uploadFilePut": {"getFile", "deleteFile", "downloadFile", "updateFile"},
    "createCluster": {"getCluster", "startCluster", "listClusterStatuses"},
}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer(parts: tuple[str, ...]) -> str:
    return "#/" + "/".join(escape(str(p)) for p in parts)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s of non-schema OpenAPI objects (responses, parameters, links, ...)."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs are used: {ref}"
        assert ref not in seen, f"ref cycle at {ref}"
        seen.add(ref)
        node = spec
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def ref_location(spec: dict[str, Any], node: Any, loc: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """Like `resolve`, but also return the JSON-pointer parts of where the object lives."""
    while isinstance(node, dict) and "$ref" in node:
        loc = tuple(t.replace("~1", "/").replace("~0", "~") for t in node["$ref"][2:].split("/"))
        node = spec
        for token in loc:
            node = node[token]
    return node, loc


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item, item[method]


def operation_parameters(spec: dict[str, Any], item: dict[str, Any], op: dict[str, Any]) -> set[str]:
    params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    return {p["name"] for p in params}


def validator_at(registry: Registry, parts: tuple[str, ...]) -> Draft202012Validator:
    schema = {"$ref": SPEC_URI + pointer(parts)}
    return Draft202012Validator(schema, registry=registry)  # no format_checker: formats not asserted


# Keywords whose values are subschemas (or maps/lists of subschemas) in JSON Schema 2020-12.
SUBSCHEMA_ONE = ("items", "additionalProperties", "unevaluatedProperties", "not", "contains",
                 "propertyNames", "if", "then", "else", "unevaluatedItems", "contentSchema")
SUBSCHEMA_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")
SUBSCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")


def walk_schema(schema: Any, loc: tuple[str, ...]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    """Yield every (sub)schema object with its location, without following `$ref`."""
    if not isinstance(schema, dict):
        return
    yield schema, loc
    for key in SUBSCHEMA_ONE:
        if key in schema:
            yield from walk_schema(schema[key], loc + (key,))
    for key in SUBSCHEMA_MAP:
        for name, sub in schema.get(key, {}).items():
            yield from walk_schema(sub, loc + (key, name))
    for key in SUBSCHEMA_LIST:
        for i, sub in enumerate(schema.get(key, [])):
            yield from walk_schema(sub, loc + (key, str(i)))


def schema_holders(node: Any, loc: tuple[str, ...] = ()) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    """Yield media type, parameter and header objects: dicts with a `schema` next to examples."""
    if isinstance(node, dict):
        if isinstance(node.get("schema"), dict) and loc[:2] != ("components", "schemas"):
            yield node, loc
        for key, value in node.items():
            if loc[:2] == ("components", "schemas") or key == "schema":
                continue  # schemas are walked separately
            yield from schema_holders(value, loc + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from schema_holders(value, loc + (str(i),))


def all_schemas(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield from walk_schema(schema, ("components", "schemas", name))
    for holder, loc in schema_holders(spec):
        yield from walk_schema(holder["schema"], loc + ("schema",))


def collect_examples(spec: dict[str, Any]) -> list[tuple[str, Any, tuple[str, ...]]]:
    """(label, example value, location of the schema it must satisfy)."""
    found: list[tuple[str, Any, tuple[str, ...]]] = []
    for holder, loc in schema_holders(spec):
        schema_loc = loc + ("schema",)
        label = "/".join(loc)
        if "example" in holder:
            found.append((label + "/example", holder["example"], schema_loc))
        for name, ex in holder.get("examples", {}).items():
            ex = resolve(spec, ex)
            assert "value" in ex, f"{label}/examples/{name} has no inline value"
            found.append((f"{label}/examples/{name}", ex["value"], schema_loc))
    for schema, loc in all_schemas(spec):
        label = "/".join(loc)
        examples = schema.get("examples", [])
        assert isinstance(examples, list), f"schema-level examples must be a list at {label}"
        for i, value in enumerate(examples):
            found.append((f"{label}/examples/{i}", value, loc))
        if "example" in schema:
            found.append((label + "/example", schema["example"], loc))
    return found


# --------------------------------------------------------------------------- tests


def test_plain_json_document(spec: dict[str, Any]) -> None:
    # YAML may silently turn unquoted dates into datetime objects; the spec must be pure JSON data.
    json.dumps(spec)


def test_openapi_document_is_valid(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [{"url": "/"}]
    validate_openapi(spec)


def test_operations_have_id_tag_and_401(spec: dict[str, Any]) -> None:
    assert {t["name"] for t in spec["tags"]} == TAGS
    seen: dict[str, str] = {}
    for path, method, _item, op in operations(spec):
        where = f"{method.upper()} {path}"
        op_id = op.get("operationId")
        assert op_id, f"{where} has no operationId"
        assert op_id not in seen, f"duplicate operationId {op_id}: {where} and {seen[op_id]}"
        seen[op_id] = where
        tags = op.get("tags", [])
        assert len(tags) == 1 and tags[0] in TAGS, f"{where} must have exactly one known tag: {tags}"
        assert "401" in op.get("responses", {}), f"{where} lacks a 401 response"
        assert op.get("summary") and op.get("description"), f"{where} lacks a summary or description"


def test_global_token_auth(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["TokenAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    assert spec["security"] == [{"TokenAuth": []}]
    for path, method, _item, op in operations(spec):
        assert "security" not in op, f"{method.upper()} {path} overrides the global security"


def test_operation_ids_are_exactly_the_agreed_set(spec: dict[str, Any]) -> None:
    actual = {(method, path): op["operationId"] for path, method, _item, op in operations(spec)}
    missing = {k: v for k, v in OPERATION_IDS.items() if actual.get(k) != v}
    extra = {k: v for k, v in actual.items() if k not in OPERATION_IDS}
    assert not missing and not extra, f"missing or renamed: {missing}; unexpected: {extra}"


def test_links_target_existing_operations_and_parameters(spec: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (item, op) for _path, _method, item, op in operations(spec)}
    links_found: dict[str, set[str]] = {}
    for path, method, _item, op in operations(spec):
        for status, response in op.get("responses", {}).items():
            response = resolve(spec, response)
            for name, link in response.get("links", {}).items():
                link = resolve(spec, link)
                where = f"{method.upper()} {path} {status} link {name}"
                target = link.get("operationId")
                assert target in by_id, f"{where}: unknown operationId {target!r}"
                target_params = operation_parameters(spec, *by_id[target])
                for param in link.get("parameters", {}):
                    bare = param.split(".", 1)[1] if "." in param else param  # allow "path.job_id"
                    assert bare in target_params, f"{where}: {target} has no parameter {param!r}"
                links_found.setdefault(op["operationId"], set()).add(target)
    for source, targets in REQUIRED_LINKS.items():
        assert targets <= links_found.get(source, set()), f"{source} lacks links to {targets}"


def test_every_example_validates_against_its_schema(spec: dict[str, Any], registry: Registry) -> None:
    examples = collect_examples(spec)
    assert len(examples) > 40, "examples went missing"
    failures = []
    for label, value, schema_loc in examples:
        # Deepest first: with allOf + unevaluatedProperties, a nested error also shows up at the top
        # as "Unevaluated properties are not allowed", which hides the real cause.
        errors = sorted(validator_at(registry, schema_loc).iter_errors(value), key=lambda e: -len(e.absolute_path))
        for err in errors[:3]:
            failures.append(f"{label}: at {list(err.absolute_path)}: {err.message[:300]}")
    assert not failures, "\n".join(failures)


def test_examples_use_no_refs_inside_values(spec: dict[str, Any]) -> None:
    # `$ref` inside an example *value* is literal data in OpenAPI, never resolved.
    def has_ref(value: Any) -> bool:
        if isinstance(value, dict):
            return "$ref" in value or any(has_ref(v) for v in value.values())
        if isinstance(value, list):
            return any(has_ref(v) for v in value)
        return False

    bad = [label for label, value, _loc in collect_examples(spec) if has_ref(value)]
    assert not bad, bad


def _closed(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties") is False or schema.get("unevaluatedProperties") is False


def test_response_schemas_are_strict(spec: dict[str, Any]) -> None:
    """Objects with `properties` in JSON responses require all of them and forbid unknown keys.

    Inside an `allOf`, a member may be open when the composing schema has `unevaluatedProperties: false`
    (the `*Base` building blocks), or when a sibling member already closes and requires the same keys
    (the page schemas narrowing `Page.results`). Objects without `properties` are free-form maps.
    """
    problems: list[str] = []
    visited: set[tuple[tuple[str, ...], bool, frozenset[str]]] = set()

    def check(schema: Any, loc: tuple[str, ...], closed_by: bool, required_by: frozenset[str]) -> None:
        schema, loc = ref_location(spec, schema, loc)
        if not isinstance(schema, dict) or (loc, closed_by, required_by) in visited:
            return
        visited.add((loc, closed_by, required_by))
        where = "/".join(loc)
        props = schema.get("properties", {})
        if props:
            if not (_closed(schema) or closed_by):
                problems.append(f"{where}: object is not closed")
            missing = set(props) - set(schema.get("required", [])) - required_by
            if missing:
                problems.append(f"{where}: not required: {sorted(missing)}")
        members = [ref_location(spec, m, loc) for m in schema.get("allOf", [])]
        for i, (member, mloc) in enumerate(members):
            closes = schema.get("unevaluatedProperties") is False or closed_by
            required = set(required_by)
            for j, (sibling, _sloc) in enumerate(members):
                if j != i and sibling.get("additionalProperties") is False:
                    closes = closes or set(member.get("properties", {})) <= set(sibling.get("properties", {}))
                    required |= set(sibling.get("required", []))
            check(member, mloc, closes, frozenset(required))
        for key in ("anyOf", "oneOf"):
            for i, sub in enumerate(schema.get(key, [])):
                check(sub, loc + (key, str(i)), False, frozenset())
        for name, sub in props.items():
            check(sub, loc + ("properties", name), False, frozenset())
        for key in ("items", "additionalProperties"):
            if isinstance(schema.get(key), dict):
                check(schema[key], loc + (key,), False, frozenset())

    for path, method, _item, op in operations(spec):
        for status, response in op["responses"].items():
            response, rloc = ref_location(spec, response, ("paths", path, method, "responses", status))
            for media, content in response.get("content", {}).items():
                if media == "application/json":
                    check(content["schema"], rloc + ("content", media, "schema"), False, frozenset())
    assert not problems, "\n".join(problems)


def test_every_operation_with_path_id_documents_404(spec: dict[str, Any]) -> None:
    for path, method, _item, op in operations(spec):
        bare_lists = ("listComputePrices", "listComputePricesV3", "listStorageDeviceRegions")  # not paged
        if "{" in path or op["operationId"].startswith("list") and op["operationId"] not in bare_lists:
            assert "404" in op["responses"], f"{method.upper()} {path} lacks a 404 response"


def test_json_and_multipart_bodies_document_415(spec: dict[str, Any]) -> None:
    for path, method, _item, op in operations(spec):
        body = resolve(spec, op.get("requestBody", {}))
        if body.get("required"):
            assert "415" in op["responses"], f"{method.upper()} {path} lacks a 415 response"
            assert "400" in op["responses"], f"{method.upper()} {path} lacks a 400 response"
