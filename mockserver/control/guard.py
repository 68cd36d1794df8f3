"""WSGI layer in front of everything: answers only the host names the server is meant to be reached by (a web page
that rebinds its own DNS name to 127.0.0.1 cannot read the fake), and, when a control token is set, lets server-wide
control calls through only with it. Both refusals come before any body is read.

(A web page's cross-origin "simple" POST cannot change anything either: every state-changing control call takes a
JSON body, which a browser sends to another origin only after a preflight the fake never grants; see control.yaml.)
"""
from __future__ import annotations

import hmac
import json
from typing import Any, Callable, Iterable

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
CONTROL_TOKEN_HEADER = "X-Rescale-Mock-Control-Token"
_TOKEN_ENVIRON = "HTTP_" + CONTROL_TOKEN_HEADER.upper().replace("-", "_")
_OPEN_CONTROL_PATHS = ("/_fake/health/", "/_fake/health")  # liveness needs no token


def host_name(host_header: str) -> str:
    """`Host` without its port, lower case: `[::1]:8123` -> `::1`, `LocalHost.:80` -> `localhost`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class RequestGuard:
    def __init__(self, app: Callable[..., Iterable[bytes]], allowed_hosts: tuple[str, ...],
                 control_token: str | None) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.control_token = control_token

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if host is not None and not self.any_host and host_name(host) not in self.allowed_hosts:
            return _refuse(start_response, "400 Bad Request", f"Invalid Host header {host!r}: this server answers only "
                           "to " + ", ".join(sorted(self.allowed_hosts)) + " (rescale-mock serve --allow-host NAME).")
        path = environ.get("PATH_INFO", "")
        if (self.control_token and path.startswith("/_fake/") and path not in _OPEN_CONTROL_PATHS
                and not environ.get("HTTP_AUTHORIZATION", "").strip()
                and not hmac.compare_digest(environ.get(_TOKEN_ENVIRON, "").encode(), self.control_token.encode())):
            return _refuse(start_response, "403 Forbidden", "A server-wide control call needs the header "
                           f"{CONTROL_TOKEN_HEADER} with this server's control token (or a tenant's Authorization).")
        return self.app(environ, start_response)


def _refuse(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = json.dumps({"detail": text}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
