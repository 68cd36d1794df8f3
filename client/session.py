"""The HTTP session: one `requests.Session` with `Authorization: Token <key>`, default timeouts, and the client's
one retry policy (`retry.RetryPolicy`: idempotent calls on a dropped connection or 429/5xx, a POST only on a 429
with `Retry-After`, jittered backoff, `Retry-After` honoured and bounded), applied here to every call and waited
with the injected `sleep`. The transport itself never retries (urllib3's own retries are off), so there is one
place that decides. Streamed multipart uploads are retried by `transfers.upload_file`, which reopens the file and
first looks for the file the failed attempt may have stored.
"""
from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .errors import APIError, TransportError, error_for
from .retry import IDEMPOTENT, RetryPolicy, as_policy

Timeout: TypeAlias = float | tuple[float, float] | None
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 60.0)
UPLOAD_READ_TIMEOUT = 300.0
SEND_BLOCK = 1024 * 1024
VERSION = "0.1.0"


class LargeBlockAdapter(HTTPAdapter):
    """Sends request bodies `SEND_BLOCK` bytes at a time (urllib3's default is 16 KiB): a streamed multipart upload
    is read and sent in 1 MiB pieces, so the encoder's Python-level work per byte and the syscalls shrink 64-fold."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        pool_kwargs.setdefault("blocksize", SEND_BLOCK)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


class ApiSession:
    """Sends requests to one Rescale host with one key; turns error statuses into `errors.APIError`s."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: Timeout = DEFAULT_TIMEOUT,
                 retries: RetryPolicy | int | None = None, http: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, pool_size: int = 32) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = as_policy(retries)
        self.sleep = sleep
        self.http = http or requests.Session()
        if api_key:  # None: calls that authenticate otherwise (the control plane's token)
            self.http.headers["Authorization"] = f"Token {api_key}"
        self.http.headers["User-Agent"] = (f"rescale-client/{VERSION} requests/{requests.__version__} "
                                           f"python/{platform.python_version()}")
        no_transport_retry = Retry(total=0, read=False, redirect=0, raise_on_status=False)  # `self.retry` decides
        adapter = LargeBlockAdapter(max_retries=no_transport_retry, pool_connections=4, pool_maxsize=pool_size)
        self.http.mount("https://", adapter)
        self.http.mount("http://", adapter)

    def close(self) -> None:
        self.http.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL on the base URL's host. Absolute links from the API (`next`, `downloadUrl`) keep their
        path and query but are sent to the configured host, so a proxy or a renamed host does not leak the key."""
        if path_or_url.startswith(("http://", "https://")):
            link, base = urlsplit(path_or_url), urlsplit(self.base_url)
            if (link.scheme, link.netloc) == (base.scheme, base.netloc):
                return path_or_url
            return urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))
        return self.base_url + "/" + path_or_url.lstrip("/")

    def request(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, data: Any = None, headers: Mapping[str, Any] | None = None,
                stream: bool = False, timeout: Timeout | Literal["default"] = "default") -> requests.Response:
        """One API call; raises `TransportError` without a response and an `APIError` on a status >= 400."""
        method = method.upper()
        url = self.url(path_or_url)
        actual_timeout = self.timeout if isinstance(timeout, str) else timeout
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        sent_headers = {k: str(v) for k, v in (headers or {}).items() if v is not None}
        idempotent, replayable = method in IDEMPOTENT, data is None
        failures = 0
        while True:
            error: TransportError | APIError
            try:
                response = self.http.request(
                    method, url, params=query or None, json=json, data=data, headers=sent_headers or None,
                    stream=stream, timeout=actual_timeout)
            except requests.RequestException as err:
                error = TransportError(f"{method} {url}: {type(err).__name__}: {err}", method=method, url=url,
                                       request=err.request if isinstance(err.request, requests.PreparedRequest)
                                       else None)
                error.__cause__ = err
            else:
                if response.status_code < 400:
                    return response
                error = error_for(response)
                response.close()
            failures += 1
            pause = self.retry.pause(error, failures, idempotent=idempotent, replayable=replayable)
            if pause is None:
                raise error
            self.sleep(pause)

    def call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
             headers: Mapping[str, Any] | None = None, json: Any = None, multipart: Mapping[str, Any] | None = None,
             progress: Callable[[int], None] | None = None, result: str = "json") -> Any:
        """What the generated operations call. `result`: json | none | text | json_or_text | response (streamed)."""
        data, sent_headers = None, dict(headers or {})
        timeout: Timeout | Literal["default"] = "default"
        if multipart is not None:
            data = multipart_body(multipart, progress)
            sent_headers["Content-Type"] = data.content_type
            timeout = self._upload_timeout()
        response = self.request(method, path, params=params, headers=sent_headers, json=json, data=data,
                                stream=result == "response", timeout=timeout)
        if result == "response":
            return response
        with response:
            if result == "none":
                return None
            if result == "text":
                return response.text
            if result == "json_or_text" and "json" not in response.headers.get("Content-Type", ""):
                return response.text
            return response.json() if response.content else None

    def get_json(self, url: str) -> Any:
        """GET an absolute link of the API (a page's `next`)."""
        with self.request("GET", url) as response:
            return response.json()

    def _upload_timeout(self) -> Timeout:
        if isinstance(self.timeout, tuple):
            return (self.timeout[0], max(self.timeout[1], UPLOAD_READ_TIMEOUT))
        return self.timeout


class ApiBase:
    """Base of the generated API classes: they only build paths and arguments and call `_call`."""

    def __init__(self, session: ApiSession) -> None:
        self._session = session

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              headers: Mapping[str, Any] | None = None, json: Any = None, multipart: Mapping[str, Any] | None = None,
              progress: Callable[[int], None] | None = None, result: str = "json") -> Any:
        return self._session.call(method, path, params=params, headers=headers, json=json, multipart=multipart,
                                  progress=progress, result=result)


def multipart_body(fields: Mapping[str, Any], progress: Callable[[int], None] | None = None) -> Any:
    """A streamed multipart body (requests-toolbelt): memory stays bounded whatever the file size."""
    from requests_toolbelt.multipart.encoder import (  # type: ignore[import-untyped]
        MultipartEncoder,
        MultipartEncoderMonitor,
    )

    encoder = MultipartEncoder(fields={k: _form_value(v) for k, v in fields.items() if v is not None})
    if progress is None:
        return encoder
    return MultipartEncoderMonitor(encoder, lambda monitor: progress(monitor.bytes_read))


def _form_value(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, (int, float)) else value


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
