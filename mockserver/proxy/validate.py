"""One real exchange (request + response) checked against the compiled spec: the same routes, parameter coercion
and schema validators the fake itself runs on (`spec.py`), turned into findings that name what differs, never the
values that naturally differ (ids, dates, keys, emails, hashes)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from werkzeug.exceptions import HTTPException

from ..spec import CompiledSpec, Operation, rescale_spec

JSON = "application/json"
NO_BODY = object()  # the exchange had no JSON body to check (none, binary, or too large)

# Finding kinds, by what they say about the platform.
UNEXPECTED = ("undocumented-status", "undocumented-content-type", "unexpected-field", "invalid-value",
              "invalid-header", "invalid-link")  # the platform answered what the spec does not allow
MISSING = ("missing-field", "missing-header")  # the spec requires what the platform did not send
REQUEST = ("unknown-operation", "invalid-request")  # the request itself is outside the spec

# Constraints on a value (not on its type or presence): on a field that naturally differs, a mismatch is not drift.
VALUE_CONSTRAINTS = {"pattern", "format", "enum", "const", "minLength", "maxLength", "minimum", "maximum",
                     "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
VOLATILE_FIELD = re.compile(r"(^id$|Id$|_id$|[Ii]ds$|^date|Date|At$|_at$|^time|Time$|[Tt]imestamp|[Ee]mail|[Kk]ey$|"
                            r"[Tt]oken|[Hh]ash|"
                            r"[Cc]hecksum|[Uu]rl$|^path$|owner|[Ee]xpir)")
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)$")
RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Finding:
    kind: str  # one of UNEXPECTED, MISSING or REQUEST
    where: str  # "status", "header Content-Range", "body results/*/name", "query page"
    detail: str  # what differs, without instance values (so findings aggregate)
    value: Any = None  # the offending fragment, for the report's (anonymized) example

    @property
    def category(self) -> str:
        return "unexpected" if self.kind in UNEXPECTED else "missing" if self.kind in MISSING else "request"


@dataclass
class Exchange:
    method: str
    path: str
    query: str
    request_headers: dict[str, str]
    status: int
    response_headers: dict[str, str]
    request_json: Any = NO_BODY
    response_json: Any = NO_BODY
    body_length: int | None = None  # bytes of the response body actually passed on, when it was streamed whole
    request_media: str = ""
    operation_id: str | None = field(default=None)

    def header(self, name: str, response: bool = True) -> str | None:
        headers = self.response_headers if response else self.request_headers
        return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


class ExchangeValidator:
    def __init__(self, spec: CompiledSpec | None = None) -> None:
        self.spec = spec or rescale_spec()
        self._header_cache: dict[tuple[str, str, str], list[tuple[str, bool, Draft202012Validator]]] = {}
        self._static = {part for path in self.spec.document.get("paths", {})
                        for part in path.strip("/").split("/") if not part.startswith("{")}

    def route(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        try:
            endpoint, args = self.spec.url_map.bind("upstream").match(path, method=method)
        except HTTPException:
            return None, {}
        return self.spec.operations[endpoint], dict(args)

    def operation_name(self, exchange: Exchange) -> str:
        """`listJobs`, or for a path outside the spec its method and shape with ids masked."""
        op, _ = self.route(exchange.method, exchange.path)
        if op is not None:
            return op.id
        parts = [p if p in self._static else "{}" for p in exchange.path.strip("/").split("/") if p]
        return f"{exchange.method} /{'/'.join(parts)}/"

    def check(self, exchange: Exchange) -> list[Finding]:
        op, args = self.route(exchange.method, exchange.path)
        if op is None:
            return [Finding("unknown-operation", "path", f"{exchange.method} on this path is not in the spec")]
        exchange.operation_id = op.id
        return list(self._request(op, args, exchange)) + list(self._response(op, exchange))

    # -- the request ---------------------------------------------------------------------------------------------
    def _request(self, op: Operation, args: dict[str, str], ex: Exchange) -> Iterator[Finding]:
        query = dict(parse_qsl(ex.query, keep_blank_values=True))
        for param in op.parameters:
            source = {"path": args, "query": query}.get(param.location)
            raw = (ex.header(param.name, response=False) if param.location == "header"
                   else (source or {}).get(param.name))
            if raw is None:
                if param.required:
                    yield Finding("invalid-request", f"{param.location} {param.name}", "required parameter not sent")
                continue
            value = param.coerce(raw)
            if not (param.any_string and isinstance(value, str)) and not param.validator.is_valid(value):
                yield Finding("invalid-request", f"{param.location} {param.name}", "not allowed by its schema", raw)
        if ex.request_media and op.bodies and ex.request_media not in op.bodies and "*/*" not in op.bodies:
            yield Finding("invalid-request", "body", f"content type {ex.request_media} is not documented")
        body = op.bodies.get(JSON)
        if ex.request_json is not NO_BODY and body is not None and body.validator is not None:
            for finding in explain(body.validator.iter_errors(ex.request_json)):
                yield Finding("invalid-request", finding.where, f"{finding.kind}: {finding.detail}", finding.value)

    # -- the response --------------------------------------------------------------------------------------------
    def _response(self, op: Operation, ex: Exchange) -> Iterator[Finding]:
        status = str(ex.status)
        key = next((k for k in (status, status[0] + "XX", "default") if k in op.responses), None)
        if key is None:
            shown = ", ".join(sorted(op.responses))
            yield Finding("undocumented-status", "status", f"status {status} is not documented ({shown} are)",
                          None if ex.response_json is NO_BODY else ex.response_json)
            return
        documented = op.responses[key]
        media = (ex.header("Content-Type") or "").split(";")[0].strip().lower()
        has_body = ex.response_json is not NO_BODY or bool(ex.body_length)
        if has_body and documented and media and media not in documented and "*/*" not in documented:
            yield Finding("undocumented-content-type", "content type",
                          f"{media} is not documented ({', '.join(sorted(documented))} is)")
        body = documented.get(JSON)
        if ex.response_json is not NO_BODY and body is not None and body.check is not None:
            if body.check(ex.response_json):  # fast check first; the structured one only to explain a failure
                yield from explain(body.validator.iter_errors(ex.response_json))  # type: ignore[union-attr]
        yield from self._headers(op, key, ex)
        yield from _pagination_links(ex)

    def _headers(self, op: Operation, status_key: str, ex: Exchange) -> Iterator[Finding]:
        for name, required, validator in self._header_rules(op, status_key):
            value = ex.header(name)
            if value is None:
                if required:
                    yield Finding("missing-header", f"header {name}", "required by the spec, not sent")
                continue
            errors = list(validator.iter_errors(value))
            if errors and not (VOLATILE_FIELD.search(name) or name.lower() == "etag"):
                yield Finding("invalid-header", f"header {name}", f"{errors[0].validator}: "
                              f"{_describe(errors[0])}", value)
        yield from _content_range(ex)

    def _header_rules(self, op: Operation, status_key: str) -> list[tuple[str, bool, Draft202012Validator]]:
        """The documented headers of one response (compiled once): name, required, schema validator."""
        key = (op.id, op.path, status_key)
        if key not in self._header_cache:
            raw = self.spec.document["paths"][op.path][op.method.lower()]["responses"][status_key]
            headers = (self.spec.resolve(raw).get("headers") or {}).items()
            self._header_cache[key] = [
                (name, bool(spec.get("required")), Draft202012Validator(self.spec.resolve(spec.get("schema", {}))))
                for name, spec in ((n, self.spec.resolve(h)) for n, h in headers)]
        return self._header_cache[key]


def _content_range(ex: Exchange) -> Iterator[Finding]:
    """A 206 says which bytes it carries: they must be the ones asked for, and as many as it sent."""
    value = ex.header("Content-Range")
    if ex.status != 206 or value is None:
        return
    match = CONTENT_RANGE.match(value.strip())
    if match is None:
        return  # the header's own schema already reported it
    start, end = int(match[1]), int(match[2])
    if end < start or (match[3] != "*" and end >= int(match[3])):
        yield Finding("invalid-header", "header Content-Range", "the range is empty or ends past the size", value)
    elif ex.body_length is not None and ex.body_length != end - start + 1:
        yield Finding("invalid-header", "header Content-Range", "the body's length is not the range's length", value)
    asked = RANGE.match((ex.header("Range", response=False) or "").strip())
    if asked and int(asked[1]) != start:
        yield Finding("invalid-header", "header Content-Range", "the range does not start where the request asked",
                      value)


def _pagination_links(ex: Exchange) -> Iterator[Finding]:
    """`next`/`previous` of a page: absolute links to the same path, one page on either side."""
    page = ex.response_json
    if not (isinstance(page, dict) and "results" in page and ("next" in page or "previous" in page)):
        return
    current = dict(parse_qsl(ex.query)).get("page", "1")
    current_page = int(current) if current.isdigit() else 1
    for name, step in (("next", 1), ("previous", -1)):
        link = page.get(name)
        if not isinstance(link, str):
            continue
        parts = urlsplit(link)
        target = dict(parse_qsl(parts.query)).get("page", "1")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            yield Finding("invalid-link", f"body {name}", "the link is not absolute", link)
        elif parts.path.rstrip("/") != ex.path.rstrip("/"):
            yield Finding("invalid-link", f"body {name}", "the link leaves the listed path", link)
        elif target != str(current_page + step):
            yield Finding("invalid-link", f"body {name}", f"the link is not the {name} page", link)


# -- jsonschema errors as findings -------------------------------------------------------------------------------
def explain(errors: Iterable[ValidationError]) -> Iterator[Finding]:
    for error in errors:
        yield from _explain(error)


def _where(parts: Iterable[Any]) -> str:
    return "/".join("*" if isinstance(p, int) else str(p) for p in parts)


def _join(where: str, name: str) -> str:
    return f"{where}/{name}" if where else name


def _explain(error: ValidationError) -> Iterator[Finding]:
    where = _where(error.absolute_path)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield Finding("missing-field", f"body {_join(where, name)}", "required by the spec, not sent",
                              _shorten(instance))
    elif error.validator in ("unevaluatedProperties", "additionalProperties") and isinstance(instance, dict):
        names = [k for k in instance if repr(k) in error.message]
        for name in names:
            yield Finding("unexpected-field", f"body {_join(where, name)}", "not in the spec", instance[name])
        if not names:
            yield Finding("invalid-value", f"body {where or '<root>'}", f"{error.validator}: {_describe(error)}")
    elif error.validator in ("anyOf", "oneOf") and error.context:
        branch = _closest_branch(error)
        if branch:
            yield from explain(branch)
        else:
            yield Finding("invalid-value", f"body {where or '<root>'}", f"{error.validator}: matches no option",
                          _shorten(instance))
    else:
        leaf = next((str(p) for p in reversed(error.absolute_path) if not isinstance(p, int)), "")
        if error.validator in VALUE_CONSTRAINTS and VOLATILE_FIELD.search(leaf):
            return  # ids, dates, keys, emails, hashes differ by nature
        yield Finding("invalid-value", f"body {where or '<root>'}", f"{error.validator}: {_describe(error)}",
                      _shorten(instance))


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """Of an anyOf/oneOf's options, the errors of the one the instance was meant for: not one whose type it lacks,
    and of the rest the one with the fewest errors."""
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [errs for errs in branches.values()
               if not any(e.validator in ("type", "const", "enum") and not e.relative_path for e in errs)]
    return min(fitting, key=len) if fitting else []


def _describe(error: ValidationError) -> str:
    """The schema's side of a failed check, never the instance's value."""
    expected = error.validator_value
    if error.validator == "type":
        return f"expected {expected}, got {_json_type(error.instance)}"
    if error.validator == "enum":
        return f"not one of {expected}"
    if isinstance(expected, (str, int, float, bool)) or expected is None:
        return f"does not satisfy {error.validator} {expected!r}"
    return f"does not satisfy {error.validator}"


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "integer", float: "number"}.get(type(value), type(value).__name__)


def _shorten(value: Any, limit: int = 12) -> Any:
    """An example fragment, trimmed: long lists keep their first items, deep values stay as they are."""
    if isinstance(value, list) and len(value) > 3:
        return value[:3]
    if isinstance(value, dict) and len(value) > limit:
        return dict(list(value.items())[:limit])
    return value
