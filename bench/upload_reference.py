"""Upload through the client vs a raw `curl -T` PUT of the same file to a minimal receiver on the same server stack.

    python -m bench.upload_reference [SIZE_MIB] [ROUNDS]    (default 256 MiB, 3 rounds; not in `python -m bench`)

The receiver (`--serve`, started as a child process) is a bare WSGI app under `rescale_mock.server.make_server`
(cheroot with the fake's options) that reads the body into one reused buffer and drops it: no parsing, no hashing,
no disk. Side by side, in alternated rounds (medians), on one file in the page cache:
- curl -T      `curl -T FILE -X PUT` to the receiver: what the server stack and loopback carry at best;
- client       `RescaleClient.upload_file(path)` to a served fake (streamed multipart, the fake parses it, computes
               md5 + sha512 and stores it);
- encoder      a bare requests-toolbelt `MultipartEncoder` POST to the same fake (the client minus the client).
The ratio client / curl -T is the issue's goal (at least 0.8x); client / encoder is what the client itself costs.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from rescale_client import RescaleClient

from .common import MiB, ServedFake, log
from .transfers import make_random_file, upload

RECEIVE_BLOCK = MiB  # read and dropped at a time


def receiver(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Read the whole body, keep nothing, answer its length."""
    stream, total = environ["wsgi.input"], 0
    remaining = int(environ.get("CONTENT_LENGTH") or 0)
    while remaining > 0:
        got = len(stream.read(min(RECEIVE_BLOCK, remaining)))
        if not got:
            break
        total += got
        remaining -= got
    body = str(total).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def serve() -> int:
    from rescale_mock.server import make_server, return_freed_memory_to_the_os, serve_until_stopped

    return_freed_memory_to_the_os()
    server = make_server(receiver, "127.0.0.1", 0, 16)
    print(f"ready: http://127.0.0.1:{server.effective_port}", flush=True)
    serve_until_stopped(server)
    return 0


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "bench.upload_reference", "--serve"], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready: "):
        process.kill()
        raise RuntimeError(f"the receiver did not start: {line!r}")
    return process, line.split()[1]


def curl_put(url: str, path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(["curl", "-s", "-T", str(path), "-X", "PUT", "-o", "/dev/null", "-w", "%{http_code}", url],
                          capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    if done.returncode != 0 or done.stdout != "200":
        raise RuntimeError(f"curl -T failed: rc={done.returncode} {done.stdout}")
    return seconds


def client_upload(fake: ServedFake, path: Path) -> float:
    with RescaleClient(fake.base_url, fake.api_key, progress=False) as client:
        started = time.perf_counter()
        stored = client.upload_file(path)
        seconds = time.perf_counter() - started
        client.files.delete_file(file_id=stored["id"])
    return seconds


def encoder_upload(fake: ServedFake, path: Path) -> float:
    outcome = upload(fake, path)
    if not outcome["ok"]:
        raise RuntimeError(outcome["error"])
    with RescaleClient(fake.base_url, fake.api_key, progress=False) as client:
        client.files.delete_file(file_id=outcome["file"]["id"])
    return float(outcome["seconds"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload_reference")
    parser.add_argument("size_mib", nargs="?", type=int, default=256)
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help="run the minimal receiver (what the bench starts)")
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="rescale-bench-upload-") as scratch:
        source = Path(scratch) / "payload.bin"
        make_random_file(source, size)
        process, receiver_url = start_receiver()
        fake = ServedFake()
        try:
            methods: dict[str, Callable[[], float]] = {
                "curl -T to the minimal receiver": lambda: curl_put(receiver_url + "/upload", source),
                "client: RescaleClient.upload_file": lambda: client_upload(fake, source),
                "encoder: bare MultipartEncoder POST": lambda: encoder_upload(fake, source),
            }
            runs: dict[str, list[float]] = {name: [] for name in methods}
            for round_no in range(args.rounds):
                for name in (list(methods) if round_no % 2 == 0 else list(reversed(methods))):
                    runs[name].append(methods[name]())
                    log(f"round {round_no + 1}/{args.rounds} {name}: {size / runs[name][-1] / 1e6:.0f} MB/s")
        finally:
            fake.close()
            process.terminate()
            process.wait(timeout=10)
    speeds = {name: size / statistics.median(seconds) / 1e6 for name, seconds in runs.items()}
    print(f"\n{args.size_mib} MiB upload, median of {args.rounds} rounds (MB/s = 10^6 B/s)")
    for name, speed in speeds.items():
        print(f"  {name:<40} {speed:7.0f} MB/s  runs {[round(size / s / 1e6) for s in runs[name]]}")
    curl, client, encoder = speeds.values()
    print(f"  client / curl -T: {client / curl:.2f}x (goal >= 0.8x); client / encoder: {client / encoder:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
