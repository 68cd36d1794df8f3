"""The fake's face in a browser: the API docs (Swagger UI, served offline) and a portal of server-rendered pages
for one tenant at a time: jobs, clusters and the control plane.

Pages read the same domain objects the API handlers read; every change a page makes (clock, scenarios, faults,
stopping a job) and every download goes through the API's or the control plane's own dispatcher, so the spec
validates it exactly as it validates a client's call. Routes live outside `/api/` and `/_fake/`, so the journal and
fault rules never see them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask

from . import actions, auth, docs, pages
from .wiring import EXTENSION, Wiring

if TYPE_CHECKING:
    from ..backend import Backend
    from ..dispatch import Dispatcher


def register(app: Flask, backend: "Backend", api: "Dispatcher", control: "Dispatcher") -> None:
    # A fresh secret per server, kept in the store so that all its processes accept a session: sessions (which hold
    # the signed-in key) end when the server stops (its start forgets the server-wide state).
    app.secret_key = backend.tenants.server.secret("portalSecret")
    app.config.update(SESSION_COOKIE_NAME="rescale_mock_portal", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/")
    app.extensions[EXTENSION] = Wiring(backend, api, control)
    blueprint = Blueprint("portal", __name__, template_folder="templates", static_folder="static",
                          static_url_path="/portal/static")
    for module in (docs, auth, pages, actions):
        module.add_routes(blueprint)
    app.register_blueprint(blueprint)
