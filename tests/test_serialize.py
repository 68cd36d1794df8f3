"""Response shaping (mockserver/serialize.py): keys come from the schema, values from dicts or attributes, unions
pick the fitting branch, a schema that refers back to itself works, and threads asking for a new shape at once all
get a finished one."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from rescale_mock.serialize import ShapeError, serialize

NODE: dict[str, Any] = {"type": "object", "properties": {
    "name": {"type": "string"},
    "sizeBytes": {"type": ["integer", "null"]},
    "children": {"type": "array", "items": {"$ref": "#/node"}},
    "tag": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {"label": {"type": "string"}}}]},
}}
REFS = {"#/node": NODE}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    time.sleep(0)  # let another thread run here: building a shape must not be seen half done
    while "$ref" in node:
        node = REFS[node["$ref"]]
    return node


@dataclass
class Leaf:
    name: str
    size_bytes: int
    extra: str = "never shown"


def test_keys_come_from_the_schema_values_from_dicts_or_attributes() -> None:
    tree = {"name": "root", "sizeBytes": None, "unlisted": 1, "tag": {"label": "t", "other": 2},
            "children": [Leaf("a", 3), {"name": "b", "children": (), "tag": None}]}
    assert serialize(tree, NODE, resolve) == {
        "name": "root", "sizeBytes": None, "tag": {"label": "t"},
        "children": [{"name": "a", "sizeBytes": 3, "children": None, "tag": None},
                     {"name": "b", "sizeBytes": None, "children": [], "tag": None}]}


def test_threads_asking_for_a_new_shape_at_once_all_get_a_finished_one() -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {f"k{i}": {"type": "object", "properties": {
        "inner": {"type": "array", "items": {"$ref": "#/node"}}}} for i in range(200)}}
    value = {f"k{i}": {"inner": [{"name": str(i)}]} for i in range(200)}
    start, results, errors = threading.Barrier(8), [], []

    def shape() -> None:
        start.wait()
        try:
            results.append(serialize(value, schema, resolve))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=shape) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 8 and all(r == results[0] for r in results)
    assert results[0]["k7"] == {"inner": [{"name": "7", "sizeBytes": None, "children": None, "tag": None}]}


def test_a_required_key_missing_from_a_view_is_an_error_never_a_null() -> None:
    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"},
                                                                     "note": {"type": ["string", "null"]}}}

    @dataclass
    class Named:
        name: str

    @dataclass
    class Misnamed:
        nmae: str

    assert serialize(Named("a"), schema, resolve) == {"name": "a", "note": None}
    assert serialize({"name": "a"}, schema, resolve) == {"name": "a", "note": None}
    for wrong in (Misnamed("a"), {"nmae": "a"}):
        with pytest.raises(ShapeError, match="'name'"):
            serialize(wrong, schema, resolve)


def test_required_keys_of_every_allof_part_are_required() -> None:
    schema = {"allOf": [{"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}},
                        {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}}]}
    assert serialize({"a": 1, "b": 2}, schema, resolve) == {"a": 1, "b": 2}
    with pytest.raises(ShapeError, match="'a'"):
        serialize({"b": 2}, schema, resolve)


def test_a_response_missing_a_required_key_is_a_loud_500_in_every_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from rescale_mock import create_app
    from rescale_mock.config import Config
    from rescale_mock.handlers import HANDLERS

    monkeypatch.setitem(HANDLERS, "getCurrentUser", lambda call: {"emial": "typo@example.com"})
    app = create_app(Config(api_keys=("k" * 40,), validate_responses=False))
    try:
        response = app.test_client().get("/api/v2/users/me/", headers={"Authorization": "Token " + "k" * 40})
        assert response.status_code == 500
        assert "required key" in response.get_json()["detail"]
        assert any("getCurrentUser" in v for v in app.extensions["rescale_mock"].violations)
    finally:
        app.extensions["rescale_mock"].close()
