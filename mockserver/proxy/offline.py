"""`rescale-mock check-spec --recordings DIR`: every saved exchange checked again against the spec as it is now,
offline, into the same drift report the proxy writes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .recording import body_bytes, read_recordings
from .report import DriftReport
from .validate import NO_BODY, Exchange, ExchangeValidator


def _json(message: dict[str, Any]) -> Any:
    media = next((v for k, v in message.get("headers", {}).items() if k.lower() == "content-type"), "")
    body = body_bytes(message)
    if not body or not ("json" in media.split(";")[0] or "body" in message and not media):
        return NO_BODY
    try:
        return json.loads(body)
    except ValueError:
        return NO_BODY


def exchange_of(recorded: dict[str, Any]) -> Exchange:
    request, response = recorded["request"], recorded["response"]
    body = body_bytes(response)
    omitted = response.get("bodyOmitted", {})
    media = next((v for k, v in request.get("headers", {}).items() if k.lower() == "content-type"), "")
    return Exchange(
        method=request["method"], path=unquote(request["path"]), query=request.get("query", ""),
        request_headers=request.get("headers", {}), status=int(response["status"]),
        response_headers=response.get("headers", {}), request_json=_json(request), response_json=_json(response),
        body_length=len(body) if body is not None else omitted.get("size"),
        request_media=media.split(";")[0].strip().lower(),
    )


def check_recordings(directory: Path, validator: ExchangeValidator | None = None) -> DriftReport:
    validator = validator or ExchangeValidator()
    report = DriftReport()
    for recorded in read_recordings(directory):
        exchange = exchange_of(recorded)
        findings = validator.check(exchange)
        example = {"request": f"{exchange.method} {recorded['request']['path']}"
                              + (f"?{exchange.query}" if exchange.query else ""), "status": exchange.status}
        report.add(validator.operation_name(exchange), exchange.status, findings, example)
    return report
