"""`rescale-mock reset | clock | tenants | faults | journal`: the control plane (`openapi/control.yaml`) of a running
fake, from a shell or a CI script. Each command is one request; `--key` scopes it to that tenant (without it, it
acts server-wide). Answers are printed as JSON; an error status or an unreachable server exits 1 with a message.

    rescale-mock clock mode manual --key "$KEY"
    rescale-mock clock advance 600 --key "$KEY"
    rescale-mock faults add --action status --status 503 --path '/api/v2/files/*' --times 2
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import requests

from .cli_guard import CONTROL_TOKEN_ENV
from .control.guard import CONTROL_TOKEN_HEADER
from .domain.clock import MODES

DEFAULT_URL = "http://127.0.0.1:8123"
URL_ENV = "RESCALE_MOCK_URL"


def call(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"Authorization": f"Token {args.key}"} if args.key else {}
    if args.control_token:
        headers[CONTROL_TOKEN_HEADER] = args.control_token
    url = f"{args.url.rstrip('/')}/_fake/{path}"
    try:
        response = requests.request(method, url, headers=headers, timeout=30, **kwargs)
    except (requests.exceptions.InvalidJSONError, requests.exceptions.InvalidHeader, UnicodeError, ValueError) as err:
        raise SystemExit(f"rescale-mock: cannot send that: {err}") from None  # NaN, bytes that are not text
    except requests.RequestException as err:
        raise SystemExit(f"rescale-mock: cannot reach {args.url}: {err}") from None
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            body = response.text
    if response.status_code >= 400:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        raise SystemExit(f"rescale-mock: {method} {url}: {response.status_code} {json.dumps(detail)}")
    return body


def show(value: Any) -> int:
    if value is not None:
        print(json.dumps(value, indent=2))
    return 0


def run_reset(args: argparse.Namespace) -> int:
    call(args, "POST", "reset/", json={})
    print("reset " + ("tenant" if args.key else "every tenant"))
    return 0


def run_clock(args: argparse.Namespace) -> int:
    if args.clock_action == "advance":
        return show(call(args, "POST", "clock/advance/", json={"seconds": args.seconds}))
    if args.clock_action == "mode":
        body = {"mode": args.mode, **({"factor": args.factor} if args.factor is not None else {})}
        return show(call(args, "PUT", "clock/", json=body))
    return show(call(args, "GET", "clock/"))


def run_tenants(args: argparse.Namespace) -> int:
    return show(call(args, "POST", "tenants/", json={"apiKey": args.api_key} if args.api_key else {}))


def run_faults(args: argparse.Namespace) -> int:
    if args.faults_action == "list":
        return show(call(args, "GET", "faults/"))
    if args.faults_action == "clear":
        call(args, "DELETE", "faults/")
        print("faults cleared")
        return 0
    if args.faults_action == "delete":
        call(args, "DELETE", f"faults/{args.fault_id}/")
        print(f"fault {args.fault_id} deleted")
        return 0
    names = {"method": "method", "path": "path", "action": "action", "status": "status", "retry_after": "retryAfter",
             "latency_ms": "latencyMs", "after_bytes": "afterBytes", "times": "times", "probability": "probability"}
    rule = {key: getattr(args, name) for name, key in names.items() if getattr(args, name) is not None}
    return show(call(args, "POST", "faults/", json=rule))


def run_journal(args: argparse.Namespace) -> int:
    if args.clear:
        call(args, "DELETE", "journal/")
        print("journal cleared")
        return 0
    filters = {"method": args.method, "path": args.path, "operationId": args.operation_id, "limit": args.limit}
    return show(call(args, "GET", "journal/", params={k: v for k, v in filters.items() if v is not None}))


def register(subparsers: Any) -> None:
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--url", default=os.environ.get(URL_ENV, DEFAULT_URL),
                        help=f"the running fake (default: ${URL_ENV} or {DEFAULT_URL})")
    target.add_argument("--key", help="act on this tenant only (its API key); without it, server-wide")
    target.add_argument("--control-token", default=os.environ.get(CONTROL_TOKEN_ENV) or None, metavar="TOKEN",
                        help=f"the server's --control-token, for server-wide calls (default: ${CONTROL_TOKEN_ENV})")

    subparsers.add_parser("reset", parents=[target], help="forget files, jobs, faults, journal; restart the clock"
                          ).set_defaults(run=run_reset)

    clock = subparsers.add_parser("clock", help="show, advance or set the fake clock")
    steps = clock.add_subparsers(dest="clock_action", required=True)
    steps.add_parser("show", parents=[target], help="the clock").set_defaults(run=run_clock)
    advance = steps.add_parser("advance", parents=[target], help="move fake time forward")
    advance.add_argument("seconds", type=float)
    advance.set_defaults(run=run_clock)
    mode = steps.add_parser("mode", parents=[target], help="scaled (factor x real time), poll or manual")
    mode.add_argument("mode", choices=MODES)
    mode.add_argument("--factor", type=float, help="fake seconds per real second (scaled)")
    mode.set_defaults(run=run_clock)

    tenants = subparsers.add_parser("tenants", help="isolated tenants")
    tenant_steps = tenants.add_subparsers(dest="tenants_action", required=True)
    add_tenant = tenant_steps.add_parser("add", parents=[target], help="a new tenant; prints its API key")
    add_tenant.add_argument("--api-key", help="the key to give it (default: a new random key)")
    add_tenant.set_defaults(run=run_tenants)

    faults = subparsers.add_parser("faults", help="fault rules (status, latency, drop)")
    fault_steps = faults.add_subparsers(dest="faults_action", required=True)
    add = fault_steps.add_parser("add", parents=[target], help="add a rule (see openapi/control.yaml)")
    add.add_argument("--action", required=True, help="status, latency or drop (the server checks it)")
    add.add_argument("--method", help="HTTP method or * (default *)")
    add.add_argument("--path", help="shell-style glob on the path (default /api/*)")
    add.add_argument("--status", type=int, help="status to answer (action status; default 503)")
    add.add_argument("--retry-after", type=int, help="Retry-After seconds (action status)")
    add.add_argument("--latency-ms", type=int, help="delay (action latency)")
    add.add_argument("--after-bytes", type=int, help="body bytes sent before the cut (action drop)")
    add.add_argument("--times", type=int, help="fire for the next N matches (default: always)")
    add.add_argument("--probability", type=float, help="fire with this probability (default 1)")
    add.set_defaults(run=run_faults)
    fault_steps.add_parser("list", parents=[target], help="the rules in force").set_defaults(run=run_faults)
    fault_steps.add_parser("clear", parents=[target], help="remove the rules").set_defaults(run=run_faults)
    delete = fault_steps.add_parser("delete", parents=[target], help="remove one rule")
    delete.add_argument("fault_id")
    delete.set_defaults(run=run_faults)

    journal = subparsers.add_parser("journal", parents=[target], help="the recent requests, newest first")
    journal.add_argument("--method")
    journal.add_argument("--path", help="shell-style glob on the path")
    journal.add_argument("--operation-id")
    journal.add_argument("--limit", type=int)
    journal.add_argument("--clear", action="store_true", help="empty the journal instead")
    journal.set_defaults(run=run_journal)


if __name__ == "__main__":  # pragma: no cover - the entry point is `rescale-mock`
    sys.exit("use: rescale-mock reset|clock|tenants|faults|journal ...")
