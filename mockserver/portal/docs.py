"""`/docs`: Swagger UI over both OpenAPI documents, from the dist files the `flask-swagger-ui` package ships (no CDN,
works offline); `/openapi.yaml|json` and `/openapi/control.yaml|json` serve the documents themselves."""
from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, render_template, send_from_directory

from ..spec import load_document, spec_text

DOCUMENTS = {"rescale": "rescale.yaml", "control": "control.yaml"}


def swagger_ui_dir() -> Path:
    return Path(str(files("flask_swagger_ui") / "dist"))


def _yaml(name: str) -> Response:
    return Response(spec_text(DOCUMENTS[name]), mimetype="application/yaml")


def _json(name: str) -> Response:
    # Not jsonify: it sorts keys, and the documents' order (paths, properties) is part of how they read.
    return Response(json.dumps(load_document(DOCUMENTS[name]), default=str), mimetype="application/json")


def add_routes(bp: Blueprint) -> None:
    @bp.get("/docs")
    @bp.get("/docs/")
    def docs() -> str:
        return render_template("docs.html", active="docs", documents=[("Rescale API", "/openapi.json"),
                                                       ("Control plane (/_fake/)", "/openapi/control.json")])

    @bp.get("/docs/assets/<path:name>")
    def docs_asset(name: str) -> Response:
        return send_from_directory(swagger_ui_dir(), name, max_age=3600)

    @bp.get("/openapi.yaml")
    def rescale_yaml() -> Response:
        return _yaml("rescale")

    @bp.get("/openapi.json")
    def rescale_json() -> Response:
        return _json("rescale")

    @bp.get("/openapi/control.yaml")
    def control_yaml() -> Response:
        return _yaml("control")

    @bp.get("/openapi/control.json")
    def control_json() -> Response:
        return _json("control")
