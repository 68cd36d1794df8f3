"""Signing in with an API key. The key lives only in the browser's session cookie (signed with the server's
per-process secret, HttpOnly, SameSite=Lax): never in a URL, a log or the journal. Every form carries a CSRF token
bound to the session."""
from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from ..domain.tenants import Tenant
from .wiring import wiring

OPEN_ENDPOINTS = {"portal.sign_in", "portal.static"}
MAX_KEY_LENGTH = 256


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def signed_in_tenant() -> Tenant | None:
    key = session.get("key")
    return wiring().backend.tenants.by_key(key) if isinstance(key, str) else None


def tenant() -> Tenant:
    found = signed_in_tenant()
    if found is None:
        abort(401)
    return found


def api_key() -> str:
    return str(session["key"])


def _is_portal(path: str) -> bool:
    return path.startswith("/portal")


def add_routes(bp: Blueprint) -> None:
    @bp.app_context_processor
    def template_globals() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "signed_in": signed_in_tenant}

    @bp.before_request
    def guard() -> Response | None:
        if not _is_portal(request.path):
            return None
        if request.method == "POST":
            sent = request.form.get("csrf", "")
            if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()) or not sent:
                abort(400, "The form has expired or did not come from this portal; reload the page and try again.")
        if request.endpoint not in OPEN_ENDPOINTS and signed_in_tenant() is None:
            session.pop("key", None)
            if request.method == "GET" and request.endpoint:  # back here after signing in (kept out of the URL)
                session["after_sign_in"] = request.path
            return redirect(url_for("portal.sign_in"), 303)
        return None

    @bp.after_request
    def headers(response: Response) -> Response:
        if _is_portal(request.path) and request.endpoint != "portal.static":
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @bp.route("/portal/sign-in", methods=["GET", "POST"])
    def sign_in() -> Any:
        if request.method == "GET":
            return render_template("sign_in.html", active="sign-in")
        key = request.form.get("key", "").strip()
        if key.lower().startswith("token "):
            key = key[6:].strip()
        found = wiring().backend.authenticate(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
        if found is None:
            return render_template("sign_in.html", active="sign-in", error="Invalid token."), 401
        wanted = session.get("after_sign_in")
        session.clear()  # a new session on sign-in: no fixation of an earlier CSRF token
        session["key"] = key
        target = wanted if isinstance(wanted, str) and wanted.startswith("/portal/") else url_for("portal.jobs")
        return redirect(target, 303)

    @bp.post("/portal/sign-out")
    def sign_out() -> Response:
        session.clear()
        return redirect(url_for("portal.sign_in"), 303)
