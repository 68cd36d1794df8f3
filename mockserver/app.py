"""The Flask application: `/api/...` is the Rescale API, `/_fake/...` the control plane; both are dispatched from
their OpenAPI documents; `/portal/` and `/docs` are pages for a browser (`portal/`). A WSGI layer around it records
the journal and injects faults."""
from __future__ import annotations

import io
import logging
from typing import Any

from flask import Flask, Request, Response, g, redirect, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .backend import Backend
from .call import handler_table
from .config import Config
from .control.guard import RequestGuard
from .control import catalog_settings, handlers as control_handlers
from .control.middleware import FaultsAndJournal
from .dispatch import Dispatcher
from .errors import not_found
from .handlers import HANDLERS
from .portal import register as register_portal
from .responses import error_response, json_response
from .spec import control_spec, rescale_spec
from .store.blobs import StagedUpload

log = logging.getLogger("rescale_mock")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


# A multipart form is bounded: at most this many parts, and each part other than the uploaded file at most this many
# bytes, held in memory (werkzeug answers 413 beyond either). One upload costs one staging file, never one per part.
MAX_FORM_PARTS = 32
MAX_FORM_FIELD_BYTES = 256 * 1024  # above the parser's 64 KiB reads, which werkzeug counts against it too


class UploadRequest(Request):
    """The first multipart file part streams straight into the blob store's staging folder, hashed as it arrives;
    any other part with a file name is a small in-memory value, like a form field."""

    max_form_parts = MAX_FORM_PARTS
    max_form_memory_size = MAX_FORM_FIELD_BYTES

    def _get_file_stream(self, total_content_length: Any, content_type: Any, filename: Any = None,
                         content_length: Any = None) -> Any:
        if g.get("staged"):
            return BoundedPart(MAX_FORM_FIELD_BYTES)
        staged: StagedUpload = _backend().blobs.stage()
        g.staged = [staged]
        return staged


class BoundedPart(io.BytesIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            raise RequestEntityTooLarge()
        return super().write(data)


def _backend() -> Backend:
    from flask import current_app

    return current_app.extensions["rescale_mock"]


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    backend = Backend(config)
    app = Flask("rescale_mock")
    app.request_class = UploadRequest
    app.extensions["rescale_mock"] = backend
    api = Dispatcher(rescale_spec(), HANDLERS, backend, validate_responses=config.validate_responses)
    control = Dispatcher(control_spec(), handler_table(control_handlers, catalog_settings), backend, auth="optional",
                         validate_responses=config.validate_responses)

    def dispatch(path: str = "") -> Response:
        if request.path.startswith("/api/") or request.path == "/api":
            return api(request)
        if request.path.startswith("/_fake/"):
            return control(request)
        if request.path == "/" and request.method in ("GET", "HEAD"):
            return redirect("/portal/")  # type: ignore[return-value]
        return error_response(not_found())

    app.add_url_rule("/", "dispatch", dispatch, methods=ALL_METHODS, provide_automatic_options=False)
    app.add_url_rule("/<path:path>", "dispatch", dispatch, methods=ALL_METHODS, provide_automatic_options=False)
    register_portal(app, backend, api, control)  # /portal/, /docs, /openapi.{yaml,json}

    @app.teardown_request
    def discard_unclaimed_uploads(_exc: BaseException | None) -> None:
        for staged in g.pop("staged", []):
            staged.discard()

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        # werkzeug's own refusals (a malformed multipart body, a form too large) in Rescale's JSON shape.
        headers = {k: v for k, v in err.get_headers() if k.lower() != "content-type"}
        text = err.description
        if err.code == 413 and request.mimetype == "multipart/form-data":
            text = (f"The multipart form is too large: at most {MAX_FORM_PARTS} parts, and at most "
                    f"{MAX_FORM_FIELD_BYTES} bytes in each part other than the file.")
        return json_response(err.code or 400, {"detail": text}, headers)

    @app.errorhandler(Exception)
    def internal_error(err: Exception) -> Response:
        # Client input must never get here; if it does, say so in the same JSON shape and log the cause.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response(500, {"detail": "Internal server error."})

    app.wsgi_app = RequestGuard(FaultsAndJournal(app.wsgi_app, backend),  # type: ignore[method-assign]
                                config.allowed_hosts, config.control_token)
    return app
