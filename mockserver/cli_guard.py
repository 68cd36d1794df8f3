"""`rescale-mock serve` options that bound what clients may do: who may use the control plane, by which host names
the server may be reached, how many tenants `--accept-any-key` may create and how big simulated outputs may be."""
from __future__ import annotations

import argparse
import ipaddress
import os
from typing import Any

from .config import Config

CONTROL_TOKEN_ENV = "RESCALE_MOCK_CONTROL_TOKEN"


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--allow-host", action="append", default=[], dest="allow_hosts", metavar="NAME",
                       help="also answer requests for this Host name (repeatable; '*' for any). A loopback server "
                            "answers only 127.0.0.1, localhost and [::1]; another bind address answers any name "
                            "unless this is given")
    serve.add_argument("--control-token", default=os.environ.get(CONTROL_TOKEN_ENV) or None, metavar="TOKEN",
                       help="server-wide control calls (/_fake/ without a tenant's key) must carry it in the header "
                            f"X-Rescale-Mock-Control-Token (default: ${CONTROL_TOKEN_ENV})")
    serve.add_argument("--max-tenants", type=int, default=Config.max_tenants, metavar="N",
                       help=f"--accept-any-key creates tenants only while fewer exist (default: {Config.max_tenants})")
    serve.add_argument("--max-output-bytes", type=int, default=Config.max_output_bytes, metavar="N",
                       help="a job's simulated output files in all; a job asking more is refused (default: 2 GiB)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    hosts: tuple[str, ...] = (*Config.allowed_hosts, args.host.strip("[]"), *args.allow_hosts)  # e.g. 127.0.0.2
    if not args.allow_hosts and not _is_loopback(args.host):
        hosts = ("*",)  # reached by names the server cannot know: say so with --allow-host to restrict it
    return {"allowed_hosts": hosts, "control_token": args.control_token, "max_tenants": args.max_tenants,
            "max_output_bytes": args.max_output_bytes}
