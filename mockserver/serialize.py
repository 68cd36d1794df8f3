"""Shape responses from the spec, as moto's serializer does from botocore's models.

A handler returns domain objects or dicts; the operation's response schema decides which keys go out. A dict gives
its camelCase keys directly; any other object gives `getattr(obj, snake_case(key))`. So the keys of every response
are written once, in `openapi/`, and self-validation checks the values.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable

Resolve = Callable[[dict[str, Any]], dict[str, Any]]


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _pick(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    return getattr(value, snake(key), None)


def _merge(schemas: list[dict[str, Any]], resolve: Resolve) -> dict[str, Any]:
    """allOf, flattened enough for picking: properties merged key by key (deeply), other keywords overlaid."""
    merged: dict[str, Any] = {}
    for raw in schemas:
        sub = _flatten(raw, resolve)
        for key, val in sub.items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, prop in val.items():
                    props[name] = _merge([props[name], prop], resolve) if name in props else prop
            else:
                merged[key] = val
    return merged


_FLAT: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def _flatten(schema: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    # Cache by identity; the entry keeps the schema itself alive so its id is never reused.
    cached = _FLAT.get(id(schema))
    if cached is None:
        flat = resolve(schema)
        if "allOf" in flat:
            rest = {k: v for k, v in flat.items() if k != "allOf"}
            flat = _merge([*flat["allOf"], rest], resolve)
        cached = _FLAT[id(schema)] = (schema, flat)
    return cached[1]


def _kind_fits(schema: dict[str, Any], value: Any) -> bool:
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not kinds:
        return True
    if value is None:
        return "null" in kinds
    if isinstance(value, list):
        return "array" in kinds
    if isinstance(value, (str, int, float, bool)):
        return bool({"string", "integer", "number", "boolean"} & set(kinds))
    return "object" in kinds


def serialize(value: Any, schema: dict[str, Any] | None, resolve: Resolve) -> Any:
    if schema is None or value is None:
        return value
    schema = _flatten(schema, resolve)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [_flatten(s, resolve) for s in schema[union]]
            fitting = next((s for s in options if _kind_fits(s, value) and s.get("type") != "null"), None)
            return serialize(value, fitting, resolve) if fitting else value
    if "properties" in schema:
        return {key: serialize(_pick(value, key), prop, resolve) for key, prop in schema["properties"].items()}
    if "items" in schema and isinstance(value, (list, tuple)):
        return [serialize(item, schema["items"], resolve) for item in value]
    if isinstance(value, tuple):
        return list(value)
    return value
