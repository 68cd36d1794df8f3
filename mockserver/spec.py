"""The OpenAPI documents, compiled once into routes and validators.

The spec is the single source of truth: routes, parameter coercion, request validation and (in test mode) response
validation all come from here, so no schema is written a second time in code.
"""
from __future__ import annotations

import functools
import math
import re
from importlib import resources
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.routing import BaseConverter, Map, Rule

from .schemas import flatten, is_any_string, json_types

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def spec_text(name: str) -> str:
    """One document of the spec, from the package `rescale_mock.openapi` (an editable install maps the source
    tree's `openapi/` there; a wheel ships it), so both installs read it the same way."""
    return resources.files("rescale_mock.openapi").joinpath(name).read_text(encoding="utf-8")


def _members_within(keyword: str, limit: str) -> Callable[..., Any]:
    """A keyword that checks an array's items (an object's values) only when their number is within the schema's
    `maxItems` (`maxProperties`): an oversized value gets that one error, not one per member (a million of them
    cost gigabytes)."""
    check = Draft202012Validator.VALIDATORS[keyword]

    def within(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        if limit in schema and isinstance(instance, (list, dict)) and len(instance) > schema[limit]:
            return
        yield from check(validator, value, instance, schema)

    return within


# Request and parameter validation: Draft 2020-12 with the above.
BoundedValidator = validators.extend(Draft202012Validator, {
    "items": _members_within("items", "maxItems"),
    "additionalProperties": _members_within("additionalProperties", "maxProperties"),
})


# libyaml's loader when PyYAML was built with it: six times quicker than the pure-Python one, and every process
# (each server, worker and test process) reads the spec once at start
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=None)
def load_document(name: str) -> dict[str, Any]:
    return yaml.load(spec_text(name), Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def coerce_text(raw: str, types: frozenset[str]) -> Any:
    """Query, path and form values arrive as text; read them as the type the schema allows, when they fit."""
    text = raw.strip()
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        try:
            return int(text)
        except ValueError:  # more than 4300 digits: Python refuses to convert it; left as text, the schema refuses it
            return raw
    if "number" in types and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        number = float(text)
        return number if math.isfinite(number) else raw  # 1e999 is no number a schema allows
    if "boolean" in types and "string" not in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return raw


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    types: frozenset[str]  # JSON types the schema allows (through anyOf/oneOf)
    validator: Draft202012Validator
    any_string: bool = False  # the schema is a bare `type: string`: any text passes, skip validating it

    def coerce(self, raw: str) -> Any:
        return coerce_text(raw, self.types)


@dataclass(frozen=True)
class Body:
    """One documented media type of a request or response: its schema node and a compiled validator."""

    schema: dict[str, Any] | None
    validator: Draft202012Validator | None
    field_types: dict[str, frozenset[str]] = field(default_factory=dict)  # form fields: types they allow
    binary_fields: frozenset[str] = frozenset()  # form fields that carry file bytes (`format: binary`)
    check: Callable[[Any], list[str]] | None = None  # fast whole-document check (responses), messages if invalid


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    tag: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    bodies: dict[str, Body]  # media type -> request body
    responses: dict[str, dict[str, Body]]  # status -> media type -> response body
    description: str = ""
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return "v3" if self.path.startswith("/api/v3/") else "v2"


class CompiledSpec:
    """One OpenAPI document compiled into a werkzeug URL map plus an Operation per operationId."""

    def __init__(self, name: str, uri: str) -> None:
        self.document = load_document(name)
        self._uri = uri
        self._registry: Registry = Registry().with_resource(
            uri, Resource(contents=self.document, specification=DRAFT202012)
        )
        self.operations: dict[str, Operation] = {}
        rules = []
        siblings = _static_siblings(list(self.document.get("paths", {})))
        for path, item in self.document.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in METHODS:
                if method not in item:
                    continue
                op = self._compile(path, method, item[method], shared)
                self.operations[op.id] = op
                rules.append(Rule(_werkzeug_rule(path, siblings), methods=[method.upper()], endpoint=op.id))
        # strict_slashes=False: every path answers with and without its trailing slash, for every method,
        # because real clients call both forms (see the reference, "Trailing slash").
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False,
                           converters={"segment": SegmentConverter})

    def validator(self, *pointer: str) -> Draft202012Validator:
        return BoundedValidator({"$ref": f"{self._uri}#/{_pointer(*pointer)}"}, registry=self._registry)

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node, dict) and "$ref" in node:
            node = self._registry.resolver(self._uri).lookup(node["$ref"]).contents
        return node

    def schema_enum(self, *path: str) -> list[Any]:
        """The `enum` of components/schemas/PATH (each step's `$ref` followed): for the domain, which cannot import
        the spec, so the backend hands it the values."""
        node: Any = self.document["components"]["schemas"]
        for key in path:
            node = self.resolve(node[key])
        return list(node["enum"])

    def _compile(self, path: str, method: str, op: dict[str, Any], shared: list[dict]) -> Operation:
        params: dict[tuple[str, str], Parameter] = {}
        for base, raw_list in (("paths", path, "parameters"), shared), (("paths", path, method, "parameters"), op.get("parameters", [])):
            for index, raw in enumerate(raw_list):
                spec = self.resolve(raw)
                where = self._location(raw, (*base, str(index)))
                params[(spec["name"], spec["in"])] = Parameter(
                    name=spec["name"], location=spec["in"], required=bool(spec.get("required")),
                    types=self.types(spec.get("schema", {})), validator=self.validator(*where, "schema"),
                    any_string=is_any_string(self.resolve(spec.get("schema", {}))),
                )
        body = self.resolve(op.get("requestBody", {})) if "requestBody" in op else {}
        body_ptr = self._location(op.get("requestBody"), ("paths", path, method, "requestBody"))
        bodies = {media: self._body(content, (*body_ptr, "content", media))
                  for media, content in body.get("content", {}).items()}
        responses: dict[str, dict[str, Body]] = {}
        for status, raw in op.get("responses", {}).items():
            ptr = self._location(raw, ("paths", path, method, "responses", str(status)))
            responses[str(status)] = {media: self._body(content, (*ptr, "content", media))
                                      for media, content in self.resolve(raw).get("content", {}).items()}
        return Operation(
            id=op["operationId"], method=method.upper(), path=path, tag=(op.get("tags") or ["default"])[0],
            parameters=tuple(params.values()), body_required=bool(body.get("required")),
            bodies=bodies, responses=responses, description=op.get("description", ""),
            extensions={k: v for k, v in op.items() if k.startswith("x-")},
        )

    def types(self, schema: dict[str, Any]) -> frozenset[str]:
        return json_types(schema, self.resolve)

    def flatten(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema with `$ref` followed and `allOf` merged (properties, required): what a response carries."""
        return flatten(schema, self.resolve)

    def _body(self, content: dict[str, Any], where: tuple[str, ...]) -> Body:
        if "schema" not in content:
            return Body(None, None)
        properties = self.resolve(content["schema"]).get("properties", {})
        validator = self.validator(*where, "schema")
        binary = frozenset(name for name, prop in properties.items() if self.resolve(prop).get("format") == "binary")
        return Body(content["schema"], validator, {name: self.types(prop) for name, prop in properties.items()},
                    binary, self._checker((*where, "schema"), validator))

    def _checker(self, where: tuple[str, ...], fallback: Draft202012Validator) -> Callable[[Any], list[str]]:
        """Validation for responses in test mode, where every response is checked: jsonschema-rs (compiled on
        first use; hundreds of times faster on these allOf/unevaluatedProperties schemas) when installed, else
        jsonschema."""
        compiled: list[Any] = []

        def check(payload: Any) -> list[str]:
            if not compiled:
                compiled.append(self._rust_validator(where))
            validator = compiled[0]
            errors = validator.iter_errors(payload) if validator else fallback.iter_errors(payload)
            return [f"{_error_path(e) or '<root>'}: {e.message}" for e in errors]

        return check

    def _rust_validator(self, where: tuple[str, ...]) -> Any:
        try:
            import jsonschema_rs
        except ImportError:
            return None
        fragment = "#/" + quote(_pointer(*where), safe="/~")
        return jsonschema_rs.Draft202012Validator({**self.document, "$ref": fragment})

    def _location(self, raw: dict[str, Any] | None, inline: tuple[str, ...]) -> tuple[str, ...]:
        """JSON-pointer parts of an object that may be inline or a `$ref` to components."""
        if raw and "$ref" in raw:
            return tuple(p.replace("~1", "/").replace("~0", "~") for p in raw["$ref"][2:].split("/"))
        return inline


def _error_path(error: Any) -> str:
    """Where an error is, for jsonschema-rs (`instance_path`, empty at the root) and jsonschema (`absolute_path`)."""
    parts = error.instance_path if hasattr(error, "instance_path") else error.absolute_path
    return "/".join(map(str, parts))


class SegmentConverter(BaseConverter):
    """One path segment that is not one of the static words beside it: `/files/contents/` is the upload path,
    never the file with id "contents", so a GET there is a 405 (as Django's URL order gives), not a 404."""

    def __init__(self, url_map: Map, *excluded: str) -> None:
        super().__init__(url_map)
        self.regex = "".join(f"(?!{re.escape(w)}$)" for w in excluded) + "[^/]+"


def _static_siblings(paths: list[str]) -> dict[tuple[str, ...], set[str]]:
    """For every prefix (parameters generalised), the static words that can follow it."""
    siblings: dict[tuple[str, ...], set[str]] = {}
    for path in paths:
        parts = path.strip("/").split("/")
        for i, part in enumerate(parts):
            if not part.startswith("{"):
                prefix = tuple("{}" if p.startswith("{") else p for p in parts[:i])
                siblings.setdefault(prefix, set()).add(part)
    return siblings


def _werkzeug_rule(path: str, siblings: dict[tuple[str, ...], set[str]]) -> str:
    # `{path}` in the tail operation may hold slashes; every other parameter is one segment.
    parts = path.strip("/").split("/")
    out = []
    for i, part in enumerate(parts):
        name = part[1:-1] if part.startswith("{") else None
        if name == "path":
            out.append("<path:path>")
        elif name:
            prefix = tuple("{}" if p.startswith("{") else p for p in parts[:i])
            words = sorted(siblings.get(prefix, ()))
            out.append(f"<segment({', '.join(repr(w) for w in words)}):{name}>" if words else f"<{name}>")
        else:
            out.append(part)
    return "/" + "/".join(out) + ("/" if path.endswith("/") else "")


@functools.lru_cache(maxsize=None)
def rescale_spec() -> CompiledSpec:
    return CompiledSpec("rescale.yaml", "urn:rescale-mockkit:rescale")


@functools.lru_cache(maxsize=None)
def control_spec() -> CompiledSpec:
    return CompiledSpec("control.yaml", "urn:rescale-mockkit:control")


