"""A small HTTP/1.1 load generator, run as its own process: `python -m bench.loadgen URL [options]`.

Portable stand-in for wrk (no install, no root): closed loop, every connection keep-alive with one request in flight
(send, read the whole response, send the next), all connections of a process driven by one `selectors` loop over
non-blocking sockets. The request bytes are built once; a response is parsed just enough to find its end
(Content-Length or chunked) and its status. Far cheaper per request than http.client or requests, so on a small
machine the generator takes as little CPU from the server as a Python program can; wrk (C) takes less still.

Prints one JSON object: requests, responses by status, errors, requests/s and latency percentiles (ms) counted over
the measured window only (a warm-up window before it is discarded), plus this process's CPU seconds.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import selectors
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def build_request(url: str, headers: list[str]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Accept: */*", *headers]
    return parts.hostname or "127.0.0.1", parts.port or 80, ("\r\n".join(lines) + "\r\n\r\n").encode()


class Conn:
    __slots__ = ("sock", "buf", "sent_at", "need", "header_end", "status", "chunked", "close")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.sent_at = 0.0
        self.reset()

    def reset(self) -> None:
        self.buf.clear()
        self.need = -1  # total bytes of the response once known
        self.header_end = -1
        self.status = 0
        self.chunked = False
        self.close = False

    def complete(self) -> bool:
        """True once the buffer holds one whole response (keep-alive: exactly one request is in flight)."""
        if self.header_end < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            self.header_end = end + 4
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            self.status = int(head[0].split(" ", 2)[1])
            length = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    self.chunked = True
                elif name == "connection" and "close" in value.lower():
                    self.close = True
            if not self.chunked:
                self.need = self.header_end + (length or 0)
        if self.chunked:
            return self._chunked_done()
        return len(self.buf) >= self.need

    def _chunked_done(self) -> bool:
        pos = self.header_end
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return False
            size = int(bytes(self.buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2 + size + 2
            if size == 0:  # no trailers from the servers measured here
                return len(self.buf) >= pos
            if len(self.buf) < pos:
                return False


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def worker(url: str, headers: list[str], connections: int, warmup: float, duration: float,
           start_at: float) -> dict[str, Any]:
    host, port, request = build_request(url, headers)
    selector = selectors.DefaultSelector()
    conns = []
    for _ in range(connections):
        conn = Conn(_connect(host, port))
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        conns.append(conn)
    while time.time() < start_at:  # every process starts its clock together
        time.sleep(0.001)
    begin = time.perf_counter()
    measure_from, stop_at = begin + warmup, begin + warmup + duration
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    reconnects = 0
    responses = 0  # warm-up included: the server's CPU time is divided by this
    cpu0 = time.process_time()

    def send(conn: Conn) -> None:
        conn.reset()
        conn.sent_at = time.perf_counter()
        conn.sock.sendall(request)  # a few hundred bytes: fits the socket buffer

    for conn in conns:
        send(conn)
    active = len(conns)
    while active:
        now = time.perf_counter()
        if now > stop_at + 10:  # a response that never comes: give up on it
            break
        for key, _ in selector.select(timeout=0.5):
            conn = key.data
            try:
                data = conn.sock.recv(262144)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # closed by the server
                errors += 1
                selector.unregister(conn.sock)
                conn.sock.close()
                if time.perf_counter() >= stop_at:
                    active -= 1
                    continue
                conn.sock = _connect(host, port)
                selector.register(conn.sock, selectors.EVENT_READ, conn)
                reconnects += 1
                send(conn)
                continue
            conn.buf += data
            if not conn.complete():
                continue
            done = time.perf_counter()
            responses += 1
            if conn.sent_at >= measure_from and done <= stop_at:
                latencies.append(done - conn.sent_at)
                statuses[str(conn.status)] = statuses.get(str(conn.status), 0) + 1
            if done >= stop_at:
                selector.unregister(conn.sock)
                conn.sock.close()
                active -= 1
                continue
            if conn.close:
                selector.unregister(conn.sock)
                conn.sock.close()
                conn.sock = _connect(host, port)
                selector.register(conn.sock, selectors.EVENT_READ, conn)
                reconnects += 1
            send(conn)
    for conn in conns:
        try:
            conn.sock.close()
        except OSError:
            pass
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "reconnects": reconnects,
            "responses": responses,
            "cpuSeconds": time.process_time() - cpu0}


def _worker_entry(args: tuple[Any, ...]) -> dict[str, Any]:
    return worker(*args)


def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(url: str, headers: list[str], connections: int, duration: float, warmup: float,
        processes: int) -> dict[str, Any]:
    processes = max(1, min(processes, connections))
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.3
    jobs = [(url, headers, n, warmup, duration, start_at) for n in shares]
    if processes == 1:
        parts = [worker(*jobs[0])]
    else:
        with multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn").Pool(processes) as pool:
            parts = pool.map(_worker_entry, jobs)
    latencies = sorted(x for p in parts for x in p["latencies"])
    statuses: dict[str, int] = {}
    for part in parts:
        for code, n in part["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    ms = [x * 1000 for x in latencies]
    return {
        "tool": "bench.loadgen", "url": url, "connections": connections, "processes": processes,
        "durationSeconds": duration, "warmupSeconds": warmup, "requests": len(latencies),
        "requestsPerSecond": len(latencies) / duration, "statuses": statuses,
        "allResponses": sum(p["responses"] for p in parts), "errors": sum(p["errors"] for p in parts),
        "reconnects": sum(p["reconnects"] for p in parts),
        "latencyMs": {"mean": sum(ms) / len(ms) if ms else None, "p50": percentile(ms, 50),
                      "p90": percentile(ms, 90), "p99": percentile(ms, 99), "max": ms[-1] if ms else None},
        "generatorCpuSeconds": sum(p["cpuSeconds"] for p in parts),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("-c", "--connections", type=int, default=8)
    parser.add_argument("-d", "--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("-w", "--warmup", type=float, default=1.0, help="seconds run first and discarded")
    parser.add_argument("-p", "--processes", type=int, default=1)
    args = parser.parse_args(argv)
    result = run(args.url, args.header, args.connections, args.duration, args.warmup, args.processes)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
