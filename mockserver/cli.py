"""`rescale-mock serve`: the fake under waitress, on loopback by default."""
from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path
from typing import Any

from .app import create_app
from .cli_catalog import add_serve_options, config_options
from .config import DEMO_KEY, Config
from .control.middleware import FaultInjected
from .domain.clock import MODES
from .server import make_server, return_freed_memory_to_the_os
from .timefmt import STYLES

DEFAULT_DATA_DIR = Path(".rescale-mock")


class _QuietInjectedDrops(logging.Filter):
    """A connection cut by a `drop` fault rule is the point of the rule, not a server error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], FaultInjected))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rescale-mock", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the fake Rescale API")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    serve.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    serve.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                       help=f"SQLite database and blobs; state survives restarts (default: {DEFAULT_DATA_DIR})")
    serve.add_argument("--api-key", action="append", default=[], dest="api_keys",
                       help="a tenant's API key (repeatable); without any, the demo key is used")
    serve.add_argument("--accept-any-key", action="store_true", help="any key becomes a new tenant on first use")
    serve.add_argument("--clock-mode", choices=MODES, default="scaled")
    serve.add_argument("--clock-factor", type=float, default=60.0, help="fake seconds per real second (scaled)")
    serve.add_argument("--date-style", choices=STYLES, default="mixed")
    serve.add_argument("--seed", type=int, default=None, help="repeatable ids and fault probabilities")
    serve.add_argument("--threads", type=int, default=16, help="worker threads (parallel ranged downloads)")
    serve.add_argument("--validate-responses", action="store_true",
                       help="check every response against the spec (a mismatch becomes a 500)")
    serve.add_argument("--demo", action="store_true", help="run the walkthrough demo against the server, then keep serving")
    add_serve_options(serve)
    serve.set_defaults(run=serve_command)
    # Other commands live in modules of their own, each adding its subparser with `set_defaults(run=...)`.
    return parser


def config_from(args: argparse.Namespace) -> Config:
    return Config(
        data_dir=args.data_dir, api_keys=tuple(args.api_keys or [DEMO_KEY]), accept_any_key=args.accept_any_key,
        validate_responses=args.validate_responses, clock_mode=args.clock_mode, clock_factor=args.clock_factor,
        date_style=args.date_style, seed=args.seed, **config_options(args),
    )


def serve_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for name in ("waitress", "rescale_mock"):
        logging.getLogger(name).addFilter(_QuietInjectedDrops())
    return_freed_memory_to_the_os()
    config = config_from(args)
    app = create_app(config)
    server = make_server(app, args.host, args.port, args.threads)
    base_url = f"http://{args.host}:{server.effective_port}"  # type: ignore[union-attr]
    print(f"rescale-mock serving {base_url}/api/v2/ (data: {config.data_dir})", flush=True)
    if not args.api_keys:
        print(f"demo API key: {DEMO_KEY}", flush=True)
    print(f"ready: {base_url}", flush=True)
    if args.demo:
        from .demo import run_demo

        threading.Thread(target=run_demo, args=(base_url, config.api_keys[0]), daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.extensions["rescale_mock"].close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
