"""`rescale-mock serve`: the fake under cheroot (see server.py), on loopback by default."""
from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from . import admin, cli_blobs, cli_catalog, cli_guard, cli_ssh, cli_store
from .version import __version__
from .app import create_app
from .config import DEMO_KEY, Config
from .control.middleware import FaultInjected
from .domain.clock import MODES
from .proxy import register as register_proxy_commands, serve_catalogs
from .server import make_server, return_freed_memory_to_the_os, serve_until_stopped
from .store.datadir import DataDirError
from .timefmt import STYLES

DEFAULT_DATA_DIR = Path(".rescale-mock")
KEYS_ENV = "RESCALE_MOCK_API_KEYS"  # API keys, separated by spaces or commas


class StartupError(Exception):
    """A mistake in how the server was started: one clear line and exit status 2, never a traceback."""


class _QuietInjectedDrops(logging.Filter):
    """A connection cut by a `drop` fault rule is the point of the rule, not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], FaultInjected))


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({low} to {high})")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rescale-mock", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the fake Rescale API")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    serve.add_argument("--port", type=_bounded_int(0, 65535), default=8123, help="0 picks a free port")
    serve.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                       help=f"SQLite database and blobs; state survives restarts (default: {DEFAULT_DATA_DIR})")
    serve.add_argument("--api-key", action="append", default=[], dest="api_keys",
                       help="a tenant's API key (repeatable; visible in `ps`: prefer --api-key-file or "
                            f"{KEYS_ENV}); without any, the demo key is used")
    serve.add_argument("--api-key-file", type=Path, action="append", default=[], dest="api_key_files",
                       help="a file of API keys, one per line (# starts a comment); repeatable")
    serve.add_argument("--accept-any-key", action="store_true", help="any key becomes a new tenant on first use")
    serve.add_argument("--clock-mode", choices=MODES, default="scaled")
    serve.add_argument("--clock-factor", type=float, default=60.0, help="fake seconds per real second (scaled)")
    serve.add_argument("--date-style", choices=STYLES, default="mixed")
    serve.add_argument("--seed", type=int, default=None, help="repeatable ids and fault probabilities")
    serve.add_argument("--max-runs-page-size", type=_bounded_int(1, 1_000_000), default=10_000,
                       help="largest page of a job's runs (default 10,000)")
    serve.add_argument("--threads", type=_bounded_int(1, 1024), default=16, help="worker threads (parallel ranged downloads)")
    serve.add_argument("--validate-responses", action="store_true",
                       help="check every response against the spec (a mismatch becomes a 500)")
    serve.add_argument("--execute", nargs="?", const="on", default="off", choices=("off", "on", "opt-in"),
                       help="run user_included jobs' commands for real ON THIS MACHINE (trusted code only)")
    serve.add_argument("--demo", action="store_true", help="run the walkthrough demo against the server, then keep serving")
    cli_catalog.add_serve_options(serve)
    cli_guard.add_serve_options(serve)
    cli_ssh.add_serve_options(serve)
    cli_blobs.add_serve_options(serve)
    cli_store.add_serve_options(serve)
    serve.set_defaults(run=serve_command)
    # Other commands live in modules of their own, each adding its subparser with `set_defaults(run=...)`.
    register_proxy_commands(sub)  # proxy, replay, check-spec; serve --catalog-from
    admin.register(sub)
    return parser


def api_keys(args: argparse.Namespace) -> tuple[str, ...]:
    """Keys from --api-key, --api-key-file and the environment, in that order, without repeats."""
    keys = list(args.api_keys)
    for path in args.api_key_files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise StartupError(f"cannot read API keys from {path}: {getattr(err, 'strerror', None) or err}") from None
        keys += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    keys += os.environ.get(KEYS_ENV, "").replace(",", " ").split()
    return tuple(dict.fromkeys(keys))


def config_from(args: argparse.Namespace) -> Config:
    try:  # the recorded catalog (--catalog-from) first, --catalog files over it
        catalog_options = cli_catalog.config_options(args, recorded=serve_catalogs(args))
    except ValueError as err:
        raise StartupError(str(err)) from None
    return Config(
        data_dir=args.data_dir, api_keys=api_keys(args) or (DEMO_KEY,), accept_any_key=args.accept_any_key,
        validate_responses=args.validate_responses, clock_mode=args.clock_mode, clock_factor=args.clock_factor,
        date_style=args.date_style, seed=args.seed, execute=args.execute, max_runs_page_size=args.max_runs_page_size,
        **cli_guard.config_options(args), **cli_ssh.config_options(args), **catalog_options,
        **cli_blobs.config_options(args),
        **cli_store.config_options(args),
    )


def bind(app: Any, host: str, port: int, threads: int) -> Any:
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise StartupError(f"unknown host {host!r}: it does not resolve to an address to listen on") from None
    try:
        return make_server(app, host, port, threads)
    except OSError as err:
        cause = _bind_error(addresses[0]) or err  # cheroot's own error carries only a message
        if cause.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is in use (another server?); choose another with --port, "
                               "or --port 0 for a free one") from None
        raise StartupError(f"cannot listen on {host}:{port}: {cause.strerror or cause}") from None


def _bind_error(address: tuple[Any, ...]) -> OSError | None:
    """Why binding `address` fails, found by trying it the way the server does (SO_REUSEADDR)."""
    family, kind, proto, _name, where = address
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(where)
        except OSError as err:
            return err
    return None


def is_loopback(host: str) -> bool:
    try:
        return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (socket.gaierror, ValueError):
        return False


def serve_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("cheroot", "rescale_mock"):
        logging.getLogger(name).addFilter(_QuietInjectedDrops())
    return_freed_memory_to_the_os()
    try:
        config = config_from(args)
        app = create_app(config)
    except (StartupError, DataDirError) as err:
        return fail(str(err))
    backend = app.extensions["rescale_mock"]
    try:
        server = bind(app, args.host, args.port, args.threads)
    except StartupError as err:
        backend.close()
        return fail(str(err))
    base_url = f"http://{_url_host(args.host)}:{server.effective_port}"  # type: ignore[union-attr]
    if not is_loopback(args.host):
        print(f"rescale-mock: warning: {args.host} is reachable from other machines, and so is the control plane "
              "(/_fake/: reset, clock, faults, journal)", file=sys.stderr, flush=True)
    print(f"rescale-mock serving {base_url}/api/v2/ (data: {config.data_dir})", flush=True)
    if not (args.api_keys or args.api_key_files or os.environ.get(KEYS_ENV)):
        print(f"demo API key: {DEMO_KEY}", flush=True)
    print(f"portal: {base_url}/portal/  API docs: {base_url}/docs", flush=True)
    print(f"ready: {base_url}", flush=True)
    if args.demo:
        from .demo import run_demo

        threading.Thread(target=run_demo, args=(base_url, config.api_keys[0]), daemon=True).start()
    try:
        serve_until_stopped(server)
    finally:
        backend.close()
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def fail(message: str) -> int:
    print(f"rescale-mock: error: {message}", file=sys.stderr, flush=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
