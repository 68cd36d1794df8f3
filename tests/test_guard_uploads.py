"""Issue 11, items 8 and 9: a multipart upload is bounded (parts, field sizes), only its file part is spooled to
disk, once; an unauthenticated upload is refused before its body is read."""
from __future__ import annotations

import concurrent.futures
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from rescale_mock.testing import Fake

BOUNDARY = "guard-boundary-7d3f"


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """(field name, file name or None, value) -> a multipart/form-data body."""
    out = bytearray()
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return bytes(out + f"--{BOUNDARY}--\r\n".encode())


def post_form(fake: Fake, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(fake.url("/api/v2/files/contents/"), data=body, timeout=60,
                         headers={**(fake.headers if headers is None else headers),
                                  "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def file_count(fake: Fake) -> int:
    return int(requests.get(fake.url("/api/v2/files/"), headers=fake.headers, timeout=30).json()["count"])


def test_three_concurrent_uploads_of_999_file_parts_are_413_not_emfile(fake: Fake) -> None:
    """Before: each part held a file descriptor, three such uploads at once hit EMFILE and answered 500."""
    body = multipart([(f"f{i}", f"f{i}.bin", b"x" * 10) for i in range(999)])
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post_form(fake, body), range(3)))
    assert [a.status_code for a in answers] == [413, 413, 413]
    assert "at most 32 parts" in answers[0].json()["detail"]
    assert file_count(fake) == 0
    ok = post_form(fake, multipart([("file", "after.txt", b"fine")]))
    assert ok.status_code == 201, ok.text


def test_only_the_file_part_is_spooled_to_disk(fake: Fake, monkeypatch: pytest.MonkeyPatch) -> None:
    staged: list[Any] = []
    if fake.backend is not None:
        real_stage = fake.backend.blobs.stage
        monkeypatch.setattr(fake.backend.blobs, "stage", lambda: staged.append(1) or real_stage())
    extra = [(f"extra{i}", f"extra{i}.txt", b"small") for i in range(20)]
    response = post_form(fake, multipart([("file", "real.txt", b"the data"), *extra, ("typeId", None, b"1")]))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "real.txt"
    assert file_count(fake) == 1
    if fake.backend is not None:
        assert staged == [1]


@pytest.mark.parametrize("field", [("description", None), ("notes", "notes.txt")])
def test_a_long_form_field_is_413(fake: Fake, field: tuple[str, str | None]) -> None:
    name, filename = field
    body = multipart([("file", "a.txt", b"data"), (name, filename, b"d" * (300 * 1024))])
    response = post_form(fake, body)
    assert response.status_code == 413, response.text
    assert file_count(fake) == 0


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(fake: Fake) -> None:
    """Before: waitress read (and spooled to /tmp) all 300 MB before the app could answer 401. Now the 401 comes
    as soon as the headers are in: the client gets it having sent almost none of the announced body."""
    announced = 300 * 1024 * 1024
    parts = urlsplit(fake.base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (f"POST /api/v2/files/contents/ HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
                f"Authorization: Token not-a-known-key-000\r\nContent-Length: {announced}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n")
        sock.sendall(head.encode() + b"x" * 65536)
        started = time.monotonic()
        answer = b""
        while b"Invalid token." not in answer and (chunk := sock.recv(65536)):  # until the body or the close
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"Invalid token." in answer
    assert time.monotonic() - started < 10
