"""The request pipeline, driven by a compiled OpenAPI document, in two steps:

`admit`: route (404/405) -> authenticate (401), once per request; what they found (`Admission`) is what the fault
rules match and the journal records (control/middleware.py), so neither looks the route or the tenant up again.
`respond`: parameters and body validated against the spec (400/404/415) -> handler (domain call) -> response shaped
from the spec -> (test mode) response validated against the spec.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from . import drf_errors, jsonbody
from .call import Call, Handler, Reply
from .domain import errors as domain
from .domain.tenants import Tenant
from .errors import INVALID_PAGE, INVALID_TOKEN, NO_CREDENTIALS, ApiError, detail, not_found, unauthorized
from .responses import JSON, empty_response, error_response, json_response
from .serialize import ShapeError, serialize
from .spec import CompiledSpec, Operation, coerce_text
from .upload_request import refusal_response

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("rescale_mock")

MAX_CACHED_PATH = 256  # longer paths are matched every time: the route cache stays small whatever clients send


@dataclass
class Admission:
    """What routing and authentication found about one request: its operation and path arguments (None when it
    routes nowhere), its tenant (None without a valid key), and the refusal to answer with, if any."""

    op: Operation | None = None
    args: dict[str, str] = field(default_factory=dict)
    tenant: Tenant | None = None
    refusal: ApiError | None = None
    options: bool = False  # an OPTIONS request: answered from the URL map, no handler

    @property
    def tenant_id(self) -> str | None:
        return self.tenant.id if self.tenant else None


class Dispatcher:
    def __init__(self, spec: CompiledSpec, handlers: dict[str, Handler], backend: "Backend",
                 auth: str = "required", validate_responses: bool = False) -> None:
        self.spec, self.handlers, self.backend = spec, handlers, backend
        self.auth = auth  # "required": the Rescale API; "optional": the control plane (no token = server-wide)
        self.validate_responses = validate_responses
        # Matching reads only the path and the method (no host or subdomain rules), so one adapter serves every
        # request, and a path asked for again (clients poll the same job, the same statuses) is matched from a
        # bounded cache: werkzeug's matcher costs a tenth of a small request.
        self._adapter = spec.url_map.bind("localhost")
        self._cached_match = functools.lru_cache(maxsize=4096)(self._adapter.match)

    def __call__(self, request: Request) -> Response:
        return self.respond(request, self.admit(request))

    def admit(self, request: Request) -> Admission:
        """Route, then authenticate. A request that routes nowhere gets its 404/405 (routing comes first, as in
        Django), but its tenant is still identified when its key is a known one (never created), for the fault
        rules and the journal."""
        if request.method == "OPTIONS":
            return Admission(options=True, tenant=self._identify(request))
        try:
            op, args = self._route(request)
        except ApiError as err:
            return Admission(tenant=self._identify(request), refusal=err)
        try:
            return Admission(op, args, self._tenant(request))
        except ApiError as err:
            return Admission(op, args, refusal=err)

    def respond(self, request: Request, admission: Admission) -> Response:
        op = admission.op
        if admission.options:
            return self._options(request)
        try:
            if admission.refusal is not None:
                raise admission.refusal
            assert op is not None
            call = Call(self.backend, admission.tenant, op, self._params(request, op, admission.args),
                        *self._body(request, op), request)
            result = self._handler(op)(call)
            response = self._render(op, result)
        except ApiError as err:
            response = error_response(err)
        except domain.DomainError as err:
            response = error_response(domain_to_http(err))
        except HTTPException as err:  # werkzeug's own refusals while reading a body (a malformed multipart form)
            response = refusal_response(err, request)
        except ShapeError as err:  # a view lacks a key the spec requires: the fake's bug, loud in every mode
            return self._violation(op, "-", f"the response lacks a required key: {err}")
        if op is not None and self.validate_responses:
            response = self._check(op, response)
        return response

    # -- steps -------------------------------------------------------------------------------------------------
    def _route(self, request: Request) -> tuple[Operation, dict[str, str]]:
        try:
            match = self._cached_match if len(request.path) <= MAX_CACHED_PATH else self._adapter.match
            endpoint, args = match(request.path, request.method)
        except NotFound:
            raise not_found() from None
        except MethodNotAllowed as err:
            allow = ", ".join(sorted({*(err.valid_methods or ()), "OPTIONS"}))
            raise detail(405, f'Method "{request.method}" not allowed.', {"Allow": allow}) from None
        return self.spec.operations[endpoint], dict(args)  # a copy: the cached match is shared

    def _options(self, request: Request) -> Response:
        # DRF answers OPTIONS with the view's metadata; the Allow header lists the path's methods.
        adapter = self.spec.url_map.bind_to_environ(request.environ)
        allowed = adapter.allowed_methods()
        if not allowed:
            return error_response(not_found())
        methods = sorted({*allowed, "OPTIONS"})
        body = {"name": request.path, "renders": [JSON], "parses": [JSON, "multipart/form-data"]}
        return json_response(200, body, {"Allow": ", ".join(methods)})

    def _identify(self, request: Request) -> Tenant | None:
        """The tenant of a well-formed, known key, or None; never refuses, never creates a tenant."""
        words = request.environ.get("HTTP_AUTHORIZATION", "").split()
        return self.backend.tenants.by_key(words[1]) if len(words) == 2 and words[0].lower() == "token" else None

    def _tenant(self, request: Request) -> Tenant | None:
        header = request.environ.get("HTTP_AUTHORIZATION", "")
        if not header:
            if self.auth == "optional":
                return None
            raise unauthorized(NO_CREDENTIALS)
        words = header.split()
        if not words or words[0].lower() != "token":
            raise unauthorized(NO_CREDENTIALS)
        if len(words) == 1:
            raise unauthorized("Invalid token header. No credentials provided.")
        if len(words) > 2:
            raise unauthorized("Invalid token header. Token string should not contain spaces.")
        tenant = self.backend.authenticate(words[1])
        if tenant is None:
            raise unauthorized(INVALID_TOKEN)
        return tenant

    def _params(self, request: Request, op: Operation, args: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for param in op.parameters:
            source = args if param.location == "path" else request.args if param.location == "query" else \
                request.headers if param.location == "header" else {}  # (parsing the query string only if asked)
            raw = source.get(param.name)
            if raw is None:
                if param.required:
                    errors[param.name] = ["This field is required."]
                continue
            value = param.coerce(raw)
            found = [] if param.any_string and isinstance(value, str) else \
                drf_errors.first_errors(param.validator.iter_errors(value))
            if found and param.name == "page":
                raise detail(404, INVALID_PAGE)  # DRF: a page that is not a positive integer is "Invalid page."
            if found:
                errors.update(drf_errors.field_errors(found, {param.name: value}, root=param.name))
            values[param.name] = value
        if errors:
            raise ApiError(400, errors)
        return values

    def _body(self, request: Request, op: Operation) -> tuple[Any, MultiDict]:
        if not op.bodies or set(op.bodies) == {"*/*"}:  # no body, or one that is ignored whatever it is
            return None, MultiDict()
        has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if not has_body and not op.body_required:
            return None, MultiDict()
        media = request.mimetype or ""
        body = op.bodies.get(media) or (op.bodies.get(JSON) if media.endswith("+json") else None)
        if body is None:
            shown = request.content_type or ""
            raise detail(415, f'Unsupported media type "{shown}" in request.')
        if media == "multipart/form-data":
            instance: Any = {k: coerce_text(v, body.field_types.get(k, frozenset())) for k, v in request.form.items()}
            instance.update({k: _file_part(body, k, request.files[k]) for k in request.files})
            files = request.files
        else:
            instance, files = self._json(request), MultiDict()
        if body.validator is not None:
            found = drf_errors.first_errors(body.validator.iter_errors(instance))
            if found:
                raise ApiError(400, drf_errors.field_errors(found, instance))
        return instance, files

    def _json(self, request: Request) -> Any:
        """The body as JSON, read only up to the configured size; see jsonbody for what else is refused."""
        limit = self.backend.config.max_json_body
        raw = b"" if (request.content_length or 0) > limit else request.stream.read(limit + 1)
        if (request.content_length or 0) > limit or len(raw) > limit:
            raise detail(413, f"Request body is larger than {limit} bytes, the most this server reads as JSON.")
        try:
            instance = jsonbody.parse(raw)
        except jsonbody.BodyError as err:
            raise detail(400, f"JSON parse error - {err}") from None
        bad = jsonbody.bad_text_paths(raw, instance, drf_errors.MAX_ERRORS)
        if bad:
            raise ApiError(400, drf_errors.errors_at(bad, jsonbody.BAD_TEXT, instance))
        return instance

    def _handler(self, op: Operation) -> Handler:
        handler = self.handlers.get(op.id)
        if handler is None:
            raise detail(501, f"{op.id} is in the spec but not implemented by rescale-mockkit yet.")
        return handler

    def _render(self, op: Operation, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        reply = result if isinstance(result, Reply) else Reply(200, result)
        if reply.payload is None:
            return empty_response(reply.status, reply.headers)
        body = op.responses.get(str(reply.status), {}).get(JSON)
        payload = serialize(reply.payload, body.schema if body else None, self.spec.resolve)
        return json_response(reply.status, payload, reply.headers)

    def _check(self, op: Operation, response: Response) -> Response:
        """Test mode: a response the spec does not allow becomes a loud 500 (and is recorded on the backend)."""
        status = str(response.status_code)
        documented = next((op.responses[k] for k in (status, status[0] + "XX", "default") if k in op.responses), None)
        problems: list[str] = []
        if documented is None:
            problems.append(f"status {status} is not documented")
        elif response.mimetype == "application/json" and documented.get("application/json"):
            body = documented["application/json"]
            if body.check is not None:
                problems += body.check(response.get_json())
        elif documented and response.mimetype and response.mimetype not in documented:
            problems.append(f"content type {response.mimetype} is not documented")
        if not problems:
            return response
        return self._violation(op, status, "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))

    def _violation(self, op: Operation | None, status: str, text: str) -> Response:
        """A response the spec does not allow: a loud 500, logged and recorded on the backend (the pytest plugin
        fails the test that caused it)."""
        message = f"{op.id if op else '-'} {status}: {text}"
        self.backend.record_violation(message)
        log.error("response violates the spec: %s", message)
        return json_response(500, {"detail": f"rescale-mockkit response violates the spec: {message}"})


FIELD_PART_LIMIT = 1024  # a form field sent as a file part (the DOE example's `typeId`) is short text


def _file_part(body: Any, name: str, part: Any) -> Any:
    """A part carrying a filename is a file, unless the schema declares that field as text: requests sends
    `files={'typeId': 2}` as a part with `filename="typeId"`, so such a part is read as the field's text."""
    if name in body.binary_fields or name not in body.field_types:
        return "<file>"
    raw = part.stream.read(FIELD_PART_LIMIT + 1)
    part.stream.seek(0)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "<file>"
    return "<file>" if len(raw) > FIELD_PART_LIMIT else coerce_text(text, body.field_types[name])


def domain_to_http(err: domain.DomainError) -> ApiError:
    if isinstance(err, domain.NotFound):
        return not_found()
    if isinstance(err, domain.InvalidInput):
        return ApiError(400, err.fields)
    if isinstance(err, domain.NotAllowed):
        return detail(400, err.detail)
    if isinstance(err, domain.Conflict):
        return detail(409, err.detail)
    return detail(400, str(err))
