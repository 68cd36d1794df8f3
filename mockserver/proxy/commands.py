"""The CLI commands of the proxy package: `proxy`, `replay`, `check-spec`, and `serve --catalog-from DIR`."""
from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..server import make_server, return_freed_memory_to_the_os, serve_until_stopped
from .catalog_from import serve_catalog
from .forward import ProxyApp
from .offline import check_recordings
from .recording import Recorder
from .replay import ReplayApp
from .report import DriftReport


def register(subparsers: Any) -> None:
    proxy = subparsers.add_parser("proxy", help="a validating proxy in front of the real platform")
    proxy.add_argument("--upstream", required=True, type=_base_url, help="e.g. https://platform.rescale.com")
    proxy.add_argument("--host", default="127.0.0.1")
    proxy.add_argument("--port", type=int, default=8124, help="0 picks a free port")
    proxy.add_argument("--record", type=Path, metavar="DIR", help="save every exchange, anonymized, under DIR")
    proxy.add_argument("--report", type=Path, metavar="FILE", help="write the drift report to FILE.json and FILE.md")
    proxy.add_argument("--max-record-body", type=int, default=8 << 20, metavar="BYTES",
                       help="bodies larger than this are recorded by size and sha256 only")
    proxy.add_argument("--no-rewrite-links", action="store_true",
                       help="leave the upstream's absolute links in JSON bodies as they are")
    proxy.add_argument("--threads", type=int, default=16)
    proxy.set_defaults(run=run_proxy)

    replay = subparsers.add_parser("replay", help="answer recorded exchanges byte for byte")
    replay.add_argument("recordings", type=Path, metavar="DIR")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=8125, help="0 picks a free port")
    replay.add_argument("--threads", type=int, default=8)
    replay.set_defaults(run=run_replay)

    check = subparsers.add_parser("check-spec", help="check saved recordings against the spec, offline")
    check.add_argument("--recordings", type=Path, required=True, metavar="DIR")
    check.add_argument("--report", type=Path, metavar="FILE", help="also write FILE.json and FILE.md")
    check.set_defaults(run=run_check_spec)

    serve = subparsers.choices.get("serve")
    if serve is not None:
        serve.add_argument("--catalog-from", type=Path, metavar="DIR", dest="catalog_from",
                           help="serve the core types, analyses and prices recorded under DIR by `proxy --record`")


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) base URL: {text!r}")
    return text.rstrip("/")


def serve_catalogs(args: argparse.Namespace) -> tuple[dict[str, Any], ...]:
    """The catalog overlays `serve`'s options add to the server's Config.catalogs: the recorded one, when asked for."""
    directory = getattr(args, "catalog_from", None)
    return (serve_catalog(directory),) if directory else ()


class ReportWriter:
    """Writes the report at most once a second while traffic flows, and once more at the end."""

    def __init__(self, report: DriftReport, path: Path | None) -> None:
        self.report, self.path = report, path
        self._last = 0.0
        self._lock = threading.Lock()

    def changed(self) -> None:
        if self.path and time.monotonic() - self._last >= 1.0 and self._lock.acquire(blocking=False):
            try:
                self.write()
            finally:
                self._lock.release()

    def write(self) -> None:
        if self.path:
            self._last = time.monotonic()
            self.report.write(self.path)


def _serve(app: Any, args: argparse.Namespace, banner: str) -> Any:
    server = make_server(app, args.host, args.port, args.threads)
    base_url = f"http://{args.host}:{server.effective_port}"
    print(f"{banner} on {base_url}", flush=True)
    print(f"ready: {base_url}", flush=True)
    serve_until_stopped(server)
    return server


def run_proxy(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return_freed_memory_to_the_os()
    report = DriftReport()
    recorder = Recorder(args.record, args.max_record_body) if args.record else None
    app = ProxyApp(args.upstream, report, recorder, rewrite_links=not args.no_rewrite_links)
    writer = ReportWriter(report, args.report)
    app.on_exchange = writer.changed
    try:
        _serve(app, args, f"rescale-mock proxy to {args.upstream}")
    finally:
        writer.write()
        drift = [e for e in report.drift() if e["category"] != "request"]
        print(f"{report.exchanges} exchanges, {len(drift)} drift entries"
              + (f"; report: {args.report}" if args.report else ""), flush=True)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    app = ReplayApp(args.recordings)
    _serve(app, args, f"rescale-mock replay of {sum(map(len, app.answers.values()))} exchanges")
    return 0


def run_check_spec(args: argparse.Namespace) -> int:
    report = check_recordings(args.recordings)
    if args.report:
        report.write(args.report)
    sys.stdout.write(report.markdown())
    drift = [e for e in report.drift() if e["category"] != "request"]
    return 1 if drift else 0
