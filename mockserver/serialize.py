"""Shape responses from the spec, as moto's serializer does from botocore's models.

A handler returns domain objects or dicts; the operation's response schema decides which keys go out. A dict gives
its camelCase keys directly; any other object gives `getattr(obj, snake_case(key))`. So the keys of every response
are written once, in `openapi/`, and self-validation checks the values.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any, Callable

Resolve = Callable[[dict[str, Any]], dict[str, Any]]


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


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


Shape = Callable[[Any], Any]
_SHAPES: dict[int, tuple[dict[str, Any], Shape]] = {}
_BUILDING: dict[int, Shape] = {}  # shapes being built, for a schema that refers back to itself
_BUILD_LOCK = threading.RLock()  # server threads may ask for the same shape at once


def serialize(value: Any, schema: dict[str, Any] | None, resolve: Resolve) -> Any:
    return value if schema is None else shape_for(schema, resolve)(value)


def shape_for(schema: dict[str, Any], resolve: Resolve) -> Shape:
    """The function that shapes a value by this schema, built once per schema (walking the schema on every
    response cost a tenth of a request's time). Only finished shapes are published in `_SHAPES`."""
    cached = _SHAPES.get(id(schema))
    if cached is not None:
        return cached[1]
    with _BUILD_LOCK:
        cached = _SHAPES.get(id(schema))
        if cached is not None:
            return cached[1]
        if id(schema) in _BUILDING:
            return _BUILDING[id(schema)]
        late: list[Shape] = []
        _BUILDING[id(schema)] = lambda value: late[0](value)
        try:
            built = _build(schema, resolve)
        finally:
            del _BUILDING[id(schema)]
        late.append(built)
        _SHAPES[id(schema)] = (schema, built)  # the entry keeps the schema alive, so its id is never reused
        return built


def _build(schema: dict[str, Any], resolve: Resolve) -> Shape:
    flat = _flatten(schema, resolve)
    for union in ("anyOf", "oneOf"):
        if union in flat:
            options = [(option, shape_for(option, resolve)) for option in (_flatten(s, resolve) for s in flat[union])
                       if option.get("type") != "null"]

            def shape_union(value: Any) -> Any:
                if value is None:
                    return None
                fitting = next((shape for option, shape in options if _kind_fits(option, value)), None)
                return fitting(value) if fitting else value
            return shape_union
    if "properties" in flat:
        fields = [(key, snake(key), shape_for(prop, resolve)) for key, prop in flat["properties"].items()]

        def shape_object(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, dict):
                return {key: shape(value.get(key)) for key, _, shape in fields}
            return {key: shape(getattr(value, attr, None)) for key, attr, shape in fields}
        return shape_object
    if "items" in flat:
        shape_item = shape_for(flat["items"], resolve)

        def shape_array(value: Any) -> Any:
            return [shape_item(item) for item in value] if isinstance(value, (list, tuple)) else value
        return shape_array
    return _as_is


def _as_is(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
