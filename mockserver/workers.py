"""`rescale-mock serve --workers N`: N processes serving one port over one store (Unix; pre-fork).

The parent binds the port (so `--port 0` picks one port for all of them and the ready line is printed once), holds
the data dir's lock and prepared the store through its own app (schema, keys, leftovers of a crash), then forks N
workers and supervises them. Each worker builds its own app over the same store without the lock
(`Config.shared_store`) and serves a listening socket the parent made, with cheroot (server.py). A worker tags its
responses with `X-Rescale-Mock-Worker: <pid>`, so a client (or a test) can tell who answered.

The sockets. On Linux, one per worker, all bound to the port with SO_REUSEPORT: the kernel spreads new connections
over them by a hash of their addresses. One socket shared by all workers (the classic pre-fork) leaves it to a race
which worker accepts, and a busy machine lets one worker win whole bursts: in one of three measured runs, one worker
took all 8 of a load generator's keep-alive connections and the other sat idle. The parent keeps every socket open,
so the connections queued on a dead worker's socket wait for its replacement (well under a second) instead of
being reset. Elsewhere (macOS and the BSDs give all connections to one SO_REUSEPORT socket) the workers share one
socket: non-blocking, so a worker that loses the race goes back to its other connections.

Supervision: a worker that dies (a crash, `kill -9`) is replaced at once; one that keeps dying right after start is
not (the parent gives up and exits with status 1). SIGTERM or SIGINT to the parent sends SIGTERM to every worker,
waits for them (SIGKILL after `STOP_SECONDS`), releases the data dir and exits 0. Workers die with the parent
(PR_SET_PDEATHSIG on Linux, a watchdog thread elsewhere). Windows has no fork: there `--workers` above 1 is refused.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, Callable

from cheroot import server as cheroot_server

from .app import create_app
from .config import Config
from .server import REQUEST_QUEUE, Server, serve_until_stopped

log = logging.getLogger("rescale_mock")

WORKER_HEADER = "X-Rescale-Mock-Worker"
STOP_SECONDS = 10.0  # a worker still alive this long after SIGTERM is killed
QUICK_DEATH_SECONDS = 2.0  # a worker dying sooner than this after start counts towards giving up
QUICK_DEATHS_TO_GIVE_UP = 5  # in a row


def supported() -> bool:
    return hasattr(os, "fork")


def spreads_connections() -> bool:
    """Whether the kernel spreads new connections over sockets sharing a port (SO_REUSEPORT as Linux does it;
    BSDs and macOS give every connection to one of them)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """Bound and listening, as cheroot would make them (SO_REUSEADDR, TCP_NODELAY, dual-stack on `::`): `count`
    sockets on one port where the kernel spreads connections over them, else one to share."""
    many = count if count > 1 and spreads_connections() else 1
    last: OSError | None = None
    for family, kind, proto, _name, address in socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                                                  0, socket.AI_PASSIVE):
        made: list[socket.socket] = []
        try:
            for _ in range(many):
                where = (address[0], made[0].getsockname()[1], *address[2:]) if made else address  # port 0: one port
                sock = cheroot_server.HTTPServer.prepare_socket(where, family, kind, proto, True, None)
                made.append(sock)
                if many > 1:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(where)
                sock.listen(REQUEST_QUEUE)
            return made
        except OSError as err:
            for sock in made:
                sock.close()
            last = err
    raise last or OSError(f"no address to listen on for {host}")


def tagged(app: Any, value: str) -> Callable[..., Any]:
    """The app, with `X-Rescale-Mock-Worker: value` on every response."""
    header = (WORKER_HEADER, value)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, header], exc_info)

        return app(environ, start)

    return wsgi


class WorkerPool:
    """Quacks like server.Server for the CLI: `effective_port`, `run()` (fork, then supervise until stopped),
    `close()`. `app` is the parent's own app: it took the lock and prepared the store; it serves nothing."""

    def __init__(self, app: Any, host: str, port: int, threads: int, *, workers: int, config: Config) -> None:
        self.host, self.threads, self.count = host, threads, workers
        self.config = dataclasses.replace(config, shared_store=True)
        self.parent_backend = app.extensions["rescale_mock"]
        self.sockets = listening_sockets(host, port, workers)
        self.effective_port = int(self.sockets[0].getsockname()[1])
        self.workers: dict[int, tuple[int, float]] = {}  # pid -> (slot 1..N, started at)
        self._stopping = False
        self._quick_deaths = 0

    # -- the parent ----------------------------------------------------------------------------------------------
    def run(self) -> None:
        # No database connection (SQLite or PostgreSQL) nor the S3 client's pool may cross a fork: the parent is done
        # with its own (workers open theirs).
        self.parent_backend.db.close()
        self.parent_backend.blobs.close()
        for slot in range(1, self.count + 1):
            self._start(slot)
        while not self._stopping:
            pid, status = os.wait()  # a signal (SIGTERM, Ctrl-C) interrupts it with KeyboardInterrupt
            slot_started = self.workers.pop(pid, None)
            if slot_started is None or self._stopping:
                continue
            slot, started = slot_started
            log.warning("worker %d (pid %d) %s; starting another", slot, pid, _how_it_ended(status))
            self._quick_deaths = self._quick_deaths + 1 if time.monotonic() - started < QUICK_DEATH_SECONDS else 0
            if self._quick_deaths >= QUICK_DEATHS_TO_GIVE_UP:
                log.error("workers keep dying right after they start (%d in a row): giving up", self._quick_deaths)
                raise SystemExit(1)
            self._start(slot)

    def _start(self, slot: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            self._worker(slot, parent)  # never returns
        self.workers[pid] = (slot, time.monotonic())
        log.info("worker %d started (pid %d)", slot, pid)

    def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after STOP_SECONDS) and close the sockets."""
        self._stopping = True
        for pid in list(self.workers):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while self.workers and time.monotonic() < deadline:
            for pid in list(self.workers):
                if _reaped(pid):
                    self.workers.pop(pid, None)
            if self.workers:
                time.sleep(0.05)
        for pid in list(self.workers):
            log.warning("worker %d (pid %d) did not stop in %.0f s: killed", self.workers[pid][0], pid, STOP_SECONDS)
            _signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.workers.clear()
        for sock in self.sockets:
            sock.close()

    # -- a worker ------------------------------------------------------------------------------------------------
    def _worker(self, slot: int, parent: int) -> None:
        code = 1
        backend = None
        try:
            _die_with(parent)
            app = create_app(self.config)
            backend = app.extensions["rescale_mock"]
            httpd = Server(tagged(app, str(os.getpid())), self.host, self.effective_port, self.threads,
                           listening=self.sockets[(slot - 1) % len(self.sockets)])
            serve_until_stopped(httpd)
            code = 0
        except (KeyboardInterrupt, SystemExit):
            code = 0  # stopped (or orphaned) before it served
        except BaseException:  # noqa: BLE001 - a worker reports and exits; the parent decides what follows
            traceback.print_exc()
        finally:
            try:
                if backend is not None:
                    backend.close()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # never back into the parent's code (its finally blocks release the data dir)


def _die_with(parent: int) -> None:
    """The worker gets SIGTERM when the parent dies, even by kill -9 (Linux); elsewhere a thread watches."""
    try:
        import ctypes

        if ctypes.CDLL(None).prctl(1, signal.SIGTERM) != 0:  # PR_SET_PDEATHSIG
            raise OSError("prctl failed")
    except (OSError, AttributeError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the above took effect
        raise SystemExit(0)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _reaped(pid: int) -> bool:
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
