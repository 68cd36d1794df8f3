"""The application: `/api/...` is the Rescale API, `/_fake/...` the control plane, both dispatched from their OpenAPI
documents straight on werkzeug (`ApiFront`: no Flask on the request path); `/portal/` and `/docs` are pages for a
browser, a Flask app (`portal/`), which `create_app` returns with the API in front of it."""
from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable

from flask import Flask, Request, Response, redirect, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

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
from .upload_request import MAX_FORM_FIELD_BYTES, MAX_FORM_PARTS, UploadRequest, refusal_response

log = logging.getLogger("rescale_mock")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class PortalRequest(Request):
    """The portal's forms are bounded like the API's."""

    max_form_parts = MAX_FORM_PARTS
    max_form_memory_size = MAX_FORM_FIELD_BYTES


def internal_error(request: Any) -> BaseResponse:
    """Client input must never get here; if it does, say so in the API's JSON shape and log the cause."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return json_response(500, {"detail": "Internal server error."})


class ApiFront:
    """WSGI: a request under `/api` or `/_fake/` is admitted by its dispatcher (routed and authenticated once), goes
    through the fault rules and the journal (the API only), then gets its response; anything else goes to `pages`
    (the Flask app of the portal and the docs)."""

    def __init__(self, api: Dispatcher, control: Dispatcher, faults_and_journal: FaultsAndJournal,
                 stage: Callable[[], Any], pages: Callable[..., Iterable[bytes]],
                 pinned_state: Callable[[], AbstractContextManager[None]]) -> None:
        self.api, self.control, self.faults_and_journal = api, control, faults_and_journal
        self.stage, self.pages, self.pinned_state = stage, pages, pinned_state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api"):
            dispatcher = self.api
        elif path.startswith("/_fake/"):
            dispatcher = self.control
        else:
            return self.pages(environ, start_response)
        with self.pinned_state():  # one read of the state version for the request's cached reads
            return self._answer(dispatcher, environ, start_response, started)

    def _answer(self, dispatcher: Dispatcher, environ: dict[str, Any], start_response: Callable[..., Any],
                started: float) -> Iterable[bytes]:
        request = UploadRequest(environ, self.stage)
        try:
            admission = dispatcher.admit(request)
        except Exception:  # noqa: BLE001 - see internal_error
            return internal_error(request)(environ, start_response)

        def respond() -> BaseResponse:
            try:
                return dispatcher.respond(request, admission)
            except Exception:  # noqa: BLE001 - see internal_error
                return internal_error(request)
            finally:
                request.discard_unclaimed()

        if dispatcher is self.api:
            return self.faults_and_journal(environ, start_response, admission, respond, started)
        return respond()(environ, start_response)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    backend = Backend(config)
    app = Flask("rescale_mock")
    app.extensions["rescale_mock"] = backend
    api = Dispatcher(rescale_spec(), HANDLERS, backend, validate_responses=config.validate_responses)
    control = Dispatcher(control_spec(), handler_table(control_handlers, catalog_settings), backend, auth="optional",
                         validate_responses=config.validate_responses)

    def other(path: str = "") -> Response:
        if request.path == "/" and request.method in ("GET", "HEAD"):
            return redirect("/portal/")  # type: ignore[return-value]
        return error_response(not_found())  # type: ignore[return-value]

    app.request_class = PortalRequest
    app.add_url_rule("/", "other", other, methods=ALL_METHODS, provide_automatic_options=False)
    app.add_url_rule("/<path:path>", "other", other, methods=ALL_METHODS, provide_automatic_options=False)
    register_portal(app, backend, api, control)  # /portal/, /docs, /openapi.{yaml,json}

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        return refusal_response(err, request)  # type: ignore[return-value]

    @app.errorhandler(Exception)
    def page_error(err: Exception) -> Response:
        return internal_error(request)  # type: ignore[return-value]

    front = ApiFront(api, control, FaultsAndJournal(backend), lambda: backend.blobs.stage(),
                     app.wsgi_app, backend.pinned_state)
    app.wsgi_app = RequestGuard(front, config.allowed_hosts, config.control_token)  # type: ignore[method-assign]
    return app
