"""The ceiling: a bare Flask "hello" app under exactly the server `rescale-mock serve` uses.

`python -m bench.hello_app [--port 0] [--threads 16]` serves `GET /api/v2/jobs/<id>/` (and any other path) with a
small JSON body, through `rescale_mock.server.make_server` (cheroot with the fake's tuned options and socket
options) and the same process set-up (logging, malloc tuning), and prints `ready: http://HOST:PORT` like the fake.
No auth, no database, no spec: what is left is Flask plus the server, the most any Flask app on this server can do.
"""
from __future__ import annotations

import argparse
import logging
import sys

from flask import Flask, jsonify

from rescale_mock.server import make_server, return_freed_memory_to_the_os, serve_until_stopped


def create_hello_app() -> Flask:
    app = Flask("hello")

    @app.get("/api/v2/jobs/<job_id>/")
    def job(job_id: str):  # noqa: ANN202
        return jsonify(id=job_id, hello="world")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str):  # noqa: ANN202
        return jsonify(hello="world")

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hello_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=16, help="the same default as `rescale-mock serve`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return_freed_memory_to_the_os()
    server = make_server(create_hello_app(), args.host, args.port, args.threads)
    print(f"ready: http://{args.host}:{server.effective_port}", flush=True)
    serve_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
