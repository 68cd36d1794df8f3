"""The one schema toolkit of the pipeline: following `$ref`s, flattening `allOf`, and the JSON types a schema allows.
spec.py (compiling routes and validators), serialize.py (shaping responses) and drf_errors.py (wording errors) all
walk schemas through these functions, so `$ref`/`allOf` are understood the same way everywhere."""
from __future__ import annotations

import threading
from typing import Any, Callable

Schema = dict[str, Any]
Resolve = Callable[[Schema], Schema]  # a node -> the node its `$ref` chain ends at (the node itself without one)


def unresolved(node: Schema) -> Schema:
    """For schemas without references (or whose references are not followed, as in a validation error's node)."""
    return node


def json_types(schema: Any, resolve: Resolve = unresolved) -> frozenset[str]:
    """The JSON types a schema allows, through `anyOf`, `oneOf` and `allOf`."""
    if not isinstance(schema, dict):
        return frozenset()
    schema = resolve(schema)
    kind = schema.get("type")
    found = {kind} if isinstance(kind, str) else set(kind or ())
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        found |= json_types(option, resolve)
    return frozenset(found)


def is_any_string(schema: Schema) -> bool:
    """A bare `type: string`: any text passes."""
    return schema.get("type") == "string" and not set(schema) - {"type", "description", "example", "examples"}


def merge(schemas: list[Schema], resolve: Resolve) -> Schema:
    """allOf, flattened: properties merged key by key (deeply), `required` united, other keywords overlaid."""
    merged: Schema = {}
    for raw in schemas:
        for key, val in flatten(raw, resolve).items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, prop in val.items():
                    props[name] = merge([props[name], prop], resolve) if name in props else prop
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *(r for r in val if r not in merged.get("required", []))]
            else:
                merged[key] = val
    return merged


_FLAT: dict[int, tuple[Schema, Schema]] = {}
_FLAT_LOCK = threading.Lock()


def flatten(schema: Schema, resolve: Resolve) -> Schema:
    """The schema with its `$ref` followed and its `allOf` merged in; computed once per schema node."""
    cached = _FLAT.get(id(schema))
    if cached is None:
        flat = resolve(schema)
        if "allOf" in flat:
            rest = {k: v for k, v in flat.items() if k != "allOf"}
            flat = merge([*flat["allOf"], rest], resolve)
        with _FLAT_LOCK:  # the entry keeps the schema itself alive, so its id is never reused
            cached = _FLAT.setdefault(id(schema), (schema, flat))
    return cached[1]
