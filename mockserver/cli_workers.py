"""`rescale-mock serve --workers N`: the option, what it cannot be combined with, and the server it builds
(workers.py)."""
from __future__ import annotations

import argparse
import functools
import os
from typing import Any, Callable

from . import workers
from .config import Config
from .server import make_server


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--workers", type=_worker_count, default=1,
                       help="server processes over one store and one port (Unix; default 1); each has --threads")


def _worker_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value} is out of range (1 to 64)")
    return value


def refusal(args: argparse.Namespace) -> str | None:
    """Why these options cannot run with several workers (one line), or None."""
    if args.workers == 1:
        return None
    if not workers.supported():
        return (f"--workers {args.workers} needs fork(), which {os.name} does not have: run one process "
                "(--workers 1, the default) and raise --threads instead")
    if args.execute != "off":
        return ("--execute runs jobs' commands from one supervisor process and cannot be combined with --workers "
                "above 1; run one worker to execute jobs")
    if args.demo:
        return "--demo cannot be combined with --workers above 1"
    return None


def server_maker(args: argparse.Namespace, config: Config) -> Callable[..., Any]:
    """What binds and serves: one cheroot server, or a pool of worker processes sharing its socket."""
    if args.workers == 1:
        return make_server
    return functools.partial(workers.WorkerPool, workers=args.workers, config=config)
