"""The HTTP server that runs the app: waitress, tuned for big transfers. Entry points (the CLI, the pytest plugin,
the benchmarks) build their server here."""
from __future__ import annotations

import socket
from typing import Any


# waitress settings for big transfers: no cap on upload size (its default refuses 1 GiB); output buffers that spill
# to disk early instead of holding up to 16 MiB per connection; and a 256 KiB socket send buffer, since waitress
# reads a file body in chunks of that size (loopback's default of 4 MiB costs megabytes per download in flight).
SERVER_OPTIONS = {"ident": "rescale-mock", "channel_timeout": 300, "max_request_body_size": 1 << 40,
                  "outbuf_high_watermark": 1 << 21}
CONNECTION_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)]


def make_server(app: Any, host: str, port: int, threads: int) -> Any:
    """waitress, tuned as above; the socket options apply to each accepted connection."""
    from waitress.server import create_server

    server = create_server(app, host=host, port=port, threads=threads, **SERVER_OPTIONS)
    server.adj.socket_options = CONNECTION_SOCKET_OPTIONS
    return server


def return_freed_memory_to_the_os() -> None:
    """glibc raises its mmap threshold as big buffers are freed, then keeps freed megabytes per thread; a fixed
    threshold makes every large file chunk an mmap that goes back to the OS when freed (server RSS stays flat)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune
