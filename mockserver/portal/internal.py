"""The portal's calls into the API and the control plane: a request built in-process and handed to the same
Dispatcher a client's request goes through (routing, authentication, spec validation, handler, shaping), as the
signed-in tenant. They bypass the journal and fault rules, which describe what clients see."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from flask import Request, request
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from ..dispatch import Dispatcher
from ..spec import CompiledSpec, coerce_text
from .auth import api_key

JSON = "application/json"


def segment(value: str) -> str:
    """A path parameter, quoted so it stays one segment."""
    return quote(value, safe="")


def call(dispatcher: Dispatcher, method: str, path: str, body: Any = None,
         query: dict[str, Any] | None = None) -> Response:
    builder = EnvironBuilder(path=path, method=method, base_url=request.host_url, query_string=query,
                             headers=[("Authorization", f"Token {api_key()}")],
                             **({"json": body} if body is not None else {}))
    try:
        return dispatcher(Request(builder.get_environ()))
    finally:
        builder.close()


def payload(response: Response) -> Any:
    return json.loads(response.get_data()) if response.mimetype == JSON and response.get_data() else None


def problem(response: Response) -> str:
    """A DRF error body as one sentence: `{"detail": ...}` or `{"field": ["..."]}` (nested for arrays/objects)."""
    body = payload(response)
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body["detail"]
    parts: list[str] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, list) and all(isinstance(item, str) for item in node):
            parts.append(f"{prefix}: {' '.join(node)}" if prefix else " ".join(node))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(f"{prefix}[{index}]", item)
    walk("", body)
    return "; ".join(parts) or f"HTTP {response.status_code}"


def form_body(spec: CompiledSpec, operation_id: str, form: Any) -> dict[str, Any]:
    """An HTML form as the operation's JSON body: the fields its schema names, typed as the schema allows (a value
    that does not fit stays text, for the spec's validation to refuse); empty fields are left out."""
    body = spec.operations[operation_id].bodies[JSON]
    return {name: coerce_text(form[name], types) for name, types in body.field_types.items()
            if form.get(name, "").strip()}


def field_schema(spec: CompiledSpec, operation_id: str, field: str) -> dict[str, Any]:
    """A body field's schema, for a form control: its enum (a <select>), default, minimum and maximum come from
    the spec, which stays the only list of them."""
    schema = spec.resolve(spec.operations[operation_id].bodies[JSON].schema or {})
    return spec.resolve(schema.get("properties", {}).get(field, {}))
