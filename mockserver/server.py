"""The HTTP server that runs the app: cheroot (CherryPy's pure-Python WSGI server; Linux, macOS and Windows), tuned
for big transfers. Entry points (the CLI, the pytest plugin, the benchmarks) build their server here.

Why cheroot rather than waitress: waitress reads a whole request body (spooling it to a temporary file) before it
calls the app, so an unauthenticated 300 MB upload was read in full before its 401 and every upload was written to
disk twice. cheroot hands the app the socket's stream: the app authenticates from the headers, then streams the
multipart file part once, into the blob store.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from typing import Any, Iterator

from cheroot import server, wsgi
from cheroot.makefile import MakeFile
from werkzeug.wsgi import FileWrapper

log = logging.getLogger("rescale_mock")  # the CLI filters out the cuts of `drop` fault rules there

# A response that leaves more than this much of the request body unread closes the connection instead of reading
# (and discarding) the rest to keep it alive: a refused 300 MB upload costs its headers, not 300 MB.
DRAIN_LIMIT = 1 << 20
# File bodies go out with sendfile; iterated (through a `drop` fault), they are read in chunks of this size.
FILE_CHUNK = 1 << 20
CONNECTION_TIMEOUT = 120  # seconds a connection may stay silent, mid-request or idle between requests
# idle keep-alive connections cheroot keeps (its default of 10 closes the connections of parallel ranged downloads and
# load generators after every response); each costs a descriptor, not a thread
KEEP_ALIVE_CONNECTIONS = 256
REQUEST_QUEUE = 128  # the listen backlog


class _Gateway(wsgi.Gateway_10):
    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]  # cheroot's stub says None
        environ = super().get_environ()
        environ["wsgi.file_wrapper"] = _SendableFile
        return environ

    def respond(self) -> None:
        """cheroot's loop over the body, except that a file body (whole, or one range of it, as werkzeug wraps it)
        goes out with `socket.sendfile`: the kernel copies it (os.sendfile; plain sends where there is none)."""
        response = self.req.server.wsgi_app(self.env, self.start_response)
        try:
            sendable = getattr(response, "iterable", response)  # werkzeug's range wrapper keeps the file there
            writer = self.req.conn.wfile
            if isinstance(sendable, _SendableFile) and isinstance(writer, _SocketWriter) \
                    and self.remaining_bytes_out is not None and not self.req.chunked_write:
                self.req.ensure_headers_sent()
                writer.sendfile(sendable.file, self._range_start(sendable), self.remaining_bytes_out)
                return
            for chunk in filter(None, response):
                if not isinstance(chunk, bytes):
                    raise ValueError("WSGI Applications must yield bytes")
                self.write(chunk)
        finally:
            self.req.ensure_headers_sent()
            if hasattr(response, "close"):
                response.close()

    def _range_start(self, sendable: "_SendableFile") -> int:
        if self.req.status[:3] == b"206":
            for key, value in self.req.outheaders:
                if key.lower() == b"content-range":  # bytes START-END/SIZE
                    return int(value.split()[1].split(b"-")[0])
        return int(sendable.file.tell())

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        if getattr(self.req.rfile, "remaining", 0) > DRAIN_LIMIT or self.req.chunked_read:
            self.req.close_connection = True  # the app answered without reading the body: do not read it either
        return super().start_response(status, headers, exc_info)


class _SendableFile(FileWrapper):
    """`wsgi.file_wrapper`: a file the gateway can hand to sendfile; iterated (as a `drop` fault does), 1 MiB reads."""

    def __init__(self, handle: Any, buffer_size: int = FILE_CHUNK) -> None:
        super().__init__(handle, max(buffer_size, FILE_CHUNK))


class _SocketWriter:
    """cheroot writes responses through a pure-Python buffered writer that copies what is left of its buffer on
    every partial send (quadratic in a 1 MiB chunk); every write of it is flushed at once anyway, so send straight
    to the socket."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.bytes_written = 0

    def write(self, data: bytes) -> int:
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)

    def sendfile(self, handle: Any, offset: int, count: int) -> None:
        sent = self._sock.sendfile(handle, offset, count)
        self.bytes_written += sent
        if sent != count:  # the file shrank under us: the client must not take a short body for a whole one
            raise ConnectionAbortedError(f"sent {sent} of {count} bytes of a file body")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Connection(server.HTTPConnection):
    def __init__(self, srv: Any, sock: Any, makefile: Any = MakeFile) -> None:
        super().__init__(srv, sock, makefile)
        if makefile is MakeFile:  # plain TCP (no TLS adapter)
            self.wfile = _SocketWriter(sock)


class Server(wsgi.Server):
    """cheroot's WSGI server with the gateway above, errors in the `logging` tree, and the attributes the entry
    points use: `effective_port` (known once bound, so `--port 0` works), `run()` and `close()`.

    `listening`: a socket already bound and listening, shared with other processes (`serve --workers`, see
    workers.py), served instead of binding one."""

    def __init__(self, app: Any, host: str, port: int, threads: int, listening: socket.socket | None = None) -> None:
        super().__init__((host, port), app, numthreads=threads, server_name="rescale-mock",
                         request_queue_size=REQUEST_QUEUE, timeout=CONNECTION_TIMEOUT)
        self.gateway = _Gateway
        self.keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS
        self.ConnectionClass = _Connection
        self._listening = listening
        self.prepare()  # binds now: the port is known before `run()`
        if listening is not None:
            # Non-blocking: when another process wins the race for a new connection, this one's accept() returns
            # at once (cheroot goes back to its selector) instead of waiting out a timeout while the keep-alive
            # connections it serves wait too.
            self.socket.settimeout(0)

    def bind(self, family: Any, type: Any, proto: Any = 0) -> Any:  # noqa: A002 - cheroot's signature
        if self._listening is None:
            return super().bind(family, type, proto)
        self.socket = self._listening
        self.bind_addr = self._listening.getsockname()[:2]
        return self.socket

    @property
    def effective_port(self) -> int:
        return int(self.bind_addr[1])

    def run(self) -> None:
        self.serve()

    def close(self) -> None:
        self.stop()

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        log.log(level, "%s", msg, exc_info=traceback)


def make_server(app: Any, host: str, port: int, threads: int) -> Server:
    return Server(app, host, port, threads)


def return_freed_memory_to_the_os() -> None:
    """glibc raises its mmap threshold as big buffers are freed, then keeps freed megabytes per thread; a fixed
    threshold makes every large file chunk an mmap that goes back to the OS when freed (server RSS stays flat)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


_stop_requested = threading.Event()  # a SIGTERM came while the server was starting


@contextlib.contextmanager
def sigterm_held() -> Iterator[None]:
    """Until `serve_until_stopped` takes over, a SIGTERM is remembered instead of killing the process: a supervisor
    (or a test) may stop the server the moment it prints `ready:`, and its clean-up must still run. A handler, not a
    blocked signal mask: threads started meanwhile would inherit the mask, and so would the commands real runs start
    from them, which a stop's SIGTERM could then never reach."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: _stop_requested.set()) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)


def serve_until_stopped(httpd: Any) -> None:
    """Run until Ctrl-C or SIGTERM (how a supervisor, a container or CI stops a process), then close the server, so
    the caller's clean-up runs either way."""
    def stop(*_: Any) -> None:
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGTERM, stop)
    try:
        if _stop_requested.is_set():  # one held since start-up is handled now
            raise KeyboardInterrupt
        httpd.run()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.close()
