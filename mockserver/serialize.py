"""Shape responses from the spec, as moto's serializer does from botocore's models.

A handler returns a view (an object with one attribute per response key, snake_case: views.py) or a domain record;
the operation's response schema decides which keys go out, as `getattr(obj, snake_case(key))`. (Pages and nested
plain values may be dicts, read by their camelCase keys.) So the keys of every response are written once, in
`openapi/`, and self-validation checks the values.

A key the schema requires that the view does not have is a bug of the fake: `ShapeError`, in every mode (the
dispatcher answers 500 naming it), never a silent `null`. An optional key the view lacks is `null`.
"""
from __future__ import annotations

import functools
import operator
import re
import threading
from typing import Any, Callable

from .schemas import Resolve, Schema, flatten


class ShapeError(Exception):
    """A response lacks a key its schema requires."""


@functools.lru_cache(maxsize=4096)
def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


class DictView:
    """A stored camelCase dict read through snake_case attributes, with overrides defined on subclasses. The shaper
    reads the dict directly for keys no subclass overrides."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    @functools.cached_property
    def _keys(self) -> dict[str, str]:  # snake_case name -> stored key, for names not spelled as stored
        return {snake(k): k for k in self._raw}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_raw":
            raise AttributeError(name)
        key = self._keys.get(name)
        if key is None:
            raise AttributeError(name)
        return self._raw[key]


def _kind_fits(schema: Schema, value: Any) -> bool:
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
_SHAPES: dict[int, tuple[Schema, Shape]] = {}
_BUILDING: dict[int, Shape] = {}  # shapes being built, for a schema that refers back to itself
_BUILD_LOCK = threading.RLock()  # server threads may ask for the same shape at once
_MISSING = object()


def serialize(value: Any, schema: Schema | None, resolve: Resolve) -> Any:
    return value if schema is None else shape_for(schema, resolve)(value)


def shape_for(schema: Schema, resolve: Resolve) -> Shape:
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


def _build(schema: Schema, resolve: Resolve) -> Shape:
    flat = flatten(schema, resolve)
    for union in ("anyOf", "oneOf"):
        if union in flat:
            options = [(option, shape_for(option, resolve)) for option in (flatten(s, resolve) for s in flat[union])
                       if option.get("type") != "null"]

            def shape_union(value: Any) -> Any:
                if value is None:
                    return None
                fitting = next((shape for option, shape in options if _kind_fits(option, value)), None)
                return fitting(value) if fitting else value
            return shape_union
    if "properties" in flat:
        return _object_shape(flat, resolve)
    if "items" in flat:
        shape_item = shape_for(flat["items"], resolve)

        def shape_array(value: Any) -> Any:
            return [shape_item(item) for item in value] if isinstance(value, (list, tuple)) else value
        return shape_array
    return _as_is


def _as_is(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _object_shape(flat: Schema, resolve: Resolve) -> Shape:
    required = set(flat.get("required", ()))
    # (key, attribute, shape or None for a plain value, required)
    fields = [(key, snake(key), _leaf_or(shape_for(prop, resolve)), key in required)
              for key, prop in flat["properties"].items()]
    plain = [(key, shape) for key, _, shape, _ in fields]
    readers: dict[type, list[tuple[str, Callable[[Any], Any], Shape | None]]] = {}

    def shape_object(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict):
            if not required <= value.keys():
                raise _missing(value, sorted(required - value.keys())[0], fields)
            get = value.get
            return {key: get(key) if shape is None else shape(get(key)) for key, shape in plain}
        kind = type(value)
        plan = readers.get(kind) or readers.setdefault(kind, _readers(kind, fields))
        return {key: read(value) if shape is None else shape(read(value)) for key, read, shape in plan}
    return shape_object


def _missing(value: Any, key: str, fields: list[Any]) -> ShapeError:
    return ShapeError(f"{type(value).__name__} has no {key!r}, which the schema requires "
                      f"(keys: {', '.join(k for k, *_ in fields)})")


def _leaf_or(shape: Shape) -> Shape | None:
    """None for a schema whose values go out as they are (JSON writes tuples as arrays too)."""
    return None if shape is _as_is else shape


def _reader(kind: type, key: str, attr: str, needed: bool, fields: list[Any]) -> Callable[[Any], Any]:
    """How to read one key of one class of view: a class attribute (a property), else a DictView's stored key,
    else getattr. A key the view lacks is None, or ShapeError when the schema requires it."""
    if hasattr(kind, attr):
        return operator.attrgetter(attr)

    def lacking(value: Any) -> Any:
        if needed:
            raise _missing(value, key, fields)
        return None

    if issubclass(kind, DictView):
        def stored(value: Any) -> Any:
            raw = value._raw
            if key in raw:  # stored as the schema spells it, nearly always
                return raw[key]
            return raw[value._keys[attr]] if attr in value._keys else lacking(value)
        return stored

    def found(value: Any) -> Any:
        item = getattr(value, attr, _MISSING)
        return lacking(value) if item is _MISSING else item
    return found


def _readers(kind: type, fields: list[tuple[str, str, Shape | None, bool]]
             ) -> list[tuple[str, Callable[[Any], Any], Shape | None]]:
    return [(key, _reader(kind, key, attr, needed, fields), shape) for key, attr, shape, needed in fields]
