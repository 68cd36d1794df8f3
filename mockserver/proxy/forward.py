"""The validating proxy: a WSGI app that forwards every request unchanged to the upstream, streams bodies both ways
in bounded memory, checks each exchange against the spec (`validate.py`) into the drift report, and records it
anonymized when asked.

What it changes on the way: nothing in requests (hop-by-hop headers aside: `Host` names the upstream); in responses,
absolute links to the upstream inside JSON bodies and `Location` become links to the proxy, so a client following
`next` stays on the proxy. The report and recordings keep the platform's own links.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
import zlib
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote, urlsplit

import requests
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from .anonymize import Scrubber
from .recording import REQUEST_HEADERS, SECRET_HEADERS, Recorder, body_fields
from .report import DriftReport
from .validate import NO_BODY, Exchange, ExchangeValidator, Finding

log = logging.getLogger("rescale_mock.proxy")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length", "expect"}
JSON_LIMIT = 16 << 20  # JSON bodies up to this size are read whole and validated; larger ones only stream
CHUNK = 256 << 10


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


class InputBody:
    """`wsgi.input` of a known length as requests streams it: blocks on demand, a length for Content-Length."""

    def __init__(self, stream: Any, length: int) -> None:
        self.stream, self.length, self.remaining = stream, length, length

    def read(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(size)
        if not data:  # the client went away mid-body: abort the upstream request too, never send it short
            raise ConnectionAbortedError(f"the client's body ended {self.remaining} bytes early")
        self.remaining -= len(data)
        return data

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


def _chunks(stream: Any) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _decode(raw: bytes, encoding: str) -> bytes | None:
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return raw
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(raw, 47)
        if encoding == "deflate":
            return zlib.decompress(raw)
    except zlib.error:
        return None
    return None  # br, zstd: passed on unchecked


class ProxyApp:
    def __init__(self, upstream: str, report: DriftReport, recorder: Recorder | None = None,
                 validator: ExchangeValidator | None = None, rewrite_links: bool = True,
                 timeout: tuple[float, float] = (10.0, 600.0)) -> None:
        self.upstream = upstream.rstrip("/")
        parts = urlsplit(self.upstream)
        self.upstream_origin = f"{parts.scheme}://{parts.netloc}"
        self.report, self.recorder = report, recorder
        self.validator = validator or ExchangeValidator()
        self.scrubber = Scrubber()
        self.rewrite_links, self.timeout = rewrite_links, timeout
        self.on_exchange: Callable[[], None] = lambda: None
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials from the environment: forward as sent
            session.headers.clear()  # no default User-Agent/Accept-Encoding: the client's headers only
            self._local.session = session
        return session

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.rstrip("/") == "/_proxy/report":
            return _reply(start_response, 200, json.dumps(self.report.to_json()).encode())
        raw_path = (environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", ""))).split("?", 1)[0]
        if "://" in raw_path:  # absolute-form request target
            raw_path = urlsplit(raw_path).path
        query = environ.get("QUERY_STRING", "")
        sent = dict(request.headers.items())
        exchange = Exchange(request.method, request.path, query, sent, 0, {})
        data, request_bytes = self._request_body(environ, request, exchange)
        try:
            upstream = self._session().request(
                request.method, self.upstream + raw_path + (f"?{query}" if query else ""), data=data, stream=True,
                headers={k: v for k, v in sent.items() if k.lower() not in HOP_BY_HOP}, allow_redirects=False,
                timeout=self.timeout)
        except requests.RequestException as err:
            log.warning("upstream did not answer %s %s: %s", request.method, request.path, type(err).__name__)
            body = {"detail": f"rescale-mock proxy: the upstream did not answer ({type(err).__name__})"}
            return _reply(start_response, 502, json.dumps(body).encode())
        return self._answer(start_response, request, upstream, exchange, request_bytes)

    def _request_body(self, environ: dict[str, Any], request: Request, exchange: Exchange) -> tuple[Any, bytes | None]:
        """What to send on: a small JSON body read whole (and parsed for checking), any other body streamed."""
        media, length = request.mimetype or "", request.content_length or 0
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        exchange.request_media = media if (length or chunked) else ""
        if length and is_json(media) and length <= JSON_LIMIT:
            request_bytes = InputBody(environ["wsgi.input"], length).read()
            try:
                exchange.request_json = json.loads(request_bytes)
            except ValueError:
                pass
            return request_bytes, request_bytes
        if length:
            return InputBody(environ["wsgi.input"], length), None
        return (_chunks(environ["wsgi.input"]) if chunked else None), None

    def _answer(self, start_response: Callable[..., Any], request: Request, upstream: requests.Response,
                exchange: Exchange, request_bytes: bytes | None) -> Iterable[bytes]:
        exchange.status = upstream.status_code
        headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
        exchange.response_headers = dict(headers)
        proxy_origin = request.host_url.rstrip("/")
        media = (exchange.header("Content-Type") or "").split(";")[0].strip().lower()
        declared = upstream.headers.get("Content-Length", "")
        length = int(declared) if declared.isdigit() else None
        if request.method == "HEAD" or upstream.status_code in (204, 304):
            upstream.close()
            exchange.body_length = 0
            self._finish(exchange, request_bytes, b"", 0)
            start_response(_status_line(exchange.status),
                           self._relinked(headers, proxy_origin, length if request.method == "HEAD" else None))
            return []
        if is_json(media) and (length is None or length <= JSON_LIMIT):
            raw = upstream.raw.read(JSON_LIMIT + 1, decode_content=False) or b""
            if len(raw) <= JSON_LIMIT:
                upstream.close()
                return self._whole(start_response, exchange, headers, raw, request_bytes, proxy_origin)
            return self._stream(start_response, upstream, exchange, headers, request_bytes, proxy_origin, raw)
        return self._stream(start_response, upstream, exchange, headers, request_bytes, proxy_origin)

    # -- answering -----------------------------------------------------------------------------------------------
    def _whole(self, start_response: Callable[..., Any], exchange: Exchange, headers: list[tuple[str, str]],
               raw: bytes, request_bytes: bytes | None, proxy_origin: str) -> list[bytes]:
        decoded = _decode(raw, exchange.header("Content-Encoding") or "")
        if decoded is not None:
            exchange.body_length = len(decoded)
            try:
                exchange.response_json = json.loads(decoded) if decoded else NO_BODY
            except ValueError:
                pass
        self._finish(exchange, request_bytes, decoded, len(decoded if decoded is not None else raw),
                     decoded_from=raw if decoded is not None and decoded is not raw else None)
        body, body_headers = raw, headers
        origin = self.upstream_origin.encode()
        if self.rewrite_links and decoded is not None and origin in decoded and proxy_origin != self.upstream_origin:
            body = decoded.replace(origin, proxy_origin.encode())
            body_headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
        out = self._relinked(body_headers, proxy_origin, len(body))
        start_response(_status_line(exchange.status), out)
        return [body]

    def _stream(self, start_response: Callable[..., Any], upstream: requests.Response, exchange: Exchange,
                headers: list[tuple[str, str]], request_bytes: bytes | None, proxy_origin: str,
                prefix: bytes = b"") -> Iterator[bytes]:
        length = upstream.headers.get("Content-Length")
        start_response(_status_line(exchange.status),
                       self._relinked(headers, proxy_origin, int(length) if length is not None else None))
        return self._pump(upstream, exchange, request_bytes, prefix)

    def _pump(self, upstream: requests.Response, exchange: Exchange, request_bytes: bytes | None,
              prefix: bytes) -> Iterator[bytes]:
        """The body, block by block as it arrives; checked and recorded once it has all arrived, before its last
        block goes out (so a client that has the whole body also finds it in the report)."""
        count, finished = 0, False
        kept: bytearray | None = bytearray() if self.recorder else None
        digest = hashlib.sha256() if self.recorder else None
        held = b""
        try:
            for chunk in itertools.chain([prefix] if prefix else [],
                                         upstream.raw.stream(CHUNK, decode_content=False)):
                count += len(chunk)
                if digest is not None:
                    digest.update(chunk)
                if kept is not None:
                    kept += chunk
                    if len(kept) > self.recorder.max_body:  # type: ignore[union-attr]
                        kept = None
                if held:
                    yield held
                held = chunk
            upstream.close()
            exchange.body_length = count
            finished = True
            self._finish(exchange, request_bytes, bytes(kept) if kept is not None else None, count,
                         digest=digest.hexdigest() if digest is not None else None)
            if held:
                yield held
        finally:
            if not finished:  # the client or the upstream went away mid-body: checked without the length
                upstream.close()
                self._finish(exchange, request_bytes, None, count)

    def _relinked(self, headers: list[tuple[str, str]], proxy_origin: str, length: int | None) -> list[tuple[str, str]]:
        out = []
        for key, value in headers:
            if self.rewrite_links and key.lower() == "location" and value.startswith(self.upstream_origin):
                value = proxy_origin + value[len(self.upstream_origin):]
            out.append((key, value))
        if length is not None:
            out.append(("Content-Length", str(length)))
        return out

    # -- checking and recording ----------------------------------------------------------------------------------
    def _finish(self, exchange: Exchange, request_bytes: bytes | None, body: bytes | None, size: int,
                digest: str | None = None, decoded_from: bytes | None = None) -> None:
        try:
            findings = self.validator.check(exchange)
            operation = self.validator.operation_name(exchange)
            scrub = self._learn(exchange)
            example = {"request": f"{exchange.method} {scrub.text(exchange.path)}"
                                  + (f"?{scrub.text(exchange.query)}" if exchange.query else ""),
                       "status": exchange.status}
            findings = [replace(f, value=scrub.value(f.value)) if f.value is not None else f for f in findings]
            self.report.add(operation, exchange.status, findings, example)
            if self.recorder is not None:
                self._record(exchange, request_bytes, body, size, digest, decoded_from is not None)
            log.info("%s %s -> %s %s%s", exchange.method, scrub.text(exchange.path), exchange.status, operation,
                     f" ({len(findings)} findings)" if findings else "")
        except Exception:  # a bug in checking must never break the user's traffic
            log.exception("could not check an exchange")
        self.on_exchange()

    def _learn(self, exchange: Exchange) -> Scrubber:
        scrub = self.scrubber
        scrub.learn_authorization(exchange.header("Authorization", response=False))
        _, args = self.validator.route(exchange.method, exchange.path)
        for name, value in args.items():
            if name.endswith("id"):
                scrub.learn_id(value)
        for payload in (exchange.request_json, exchange.response_json):
            if payload is not NO_BODY:
                scrub.learn_json(payload)
        return scrub

    def _record(self, exchange: Exchange, request_bytes: bytes | None, body: bytes | None, size: int,
                digest: str | None, decoded: bool) -> None:
        scrub, limit = self.scrubber, self.recorder.max_body  # type: ignore[union-attr]
        request_headers = {k: scrub.text(v) for k, v in exchange.request_headers.items()
                           if k in REQUEST_HEADERS or k.title() in REQUEST_HEADERS}
        request_body = scrub.bytes(request_bytes) if request_bytes is not None else None
        response_body = scrub.bytes(body) if body is not None else None
        response_headers = {k: ("<redacted>" if k.lower() in SECRET_HEADERS else scrub.text(v))
                            for k, v in exchange.response_headers.items()
                            if not (decoded and k.lower() == "content-encoding")}
        declared = exchange.header("Content-Length", response=False) or ""
        request_size = len(request_body) if request_body is not None else int(declared) if declared.isdigit() else 0
        self.recorder.save({  # type: ignore[union-attr]
            "operationId": exchange.operation_id,
            "request": {"method": exchange.method, "path": scrub.text(quote(exchange.path)),
                        "query": scrub.text(exchange.query), "headers": request_headers,
                        **body_fields(request_body, request_size, limit, text_only=True)},
            "response": {"status": exchange.status, "headers": response_headers,
                         **body_fields(response_body, len(response_body) if response_body is not None else size,
                                       limit, digest)},
        })


def _status_line(status: int) -> str:
    return f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}"


def _reply(start_response: Callable[..., Any], status: int, body: bytes) -> list[bytes]:
    start_response(_status_line(status), [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# Findings are re-exported for callers that only import the proxy.
__all__ = ["ProxyApp", "Finding"]
