"""Response shaping (mockserver/serialize.py): keys come from the schema, values from dicts or attributes, unions
pick the fitting branch, a schema that refers back to itself works, and threads asking for a new shape at once all
get a finished one."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from rescale_mock.serialize import serialize

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
