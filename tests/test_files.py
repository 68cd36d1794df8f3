"""Files end to end (reference §2.2, §4.3, §5.4-5.6; notebook seed 002 cells 41-42, 51-54, 72-75, 82):
upload, metadata, rename, delete, search, lines and (ranged, concurrent) downloads."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests_toolbelt import MultipartEncoder

from rescale_mock.testing import Fake

from bench.notebook_transfer import PerThreadRange, concurrent_download

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied", "s3", "s3-served")  # some tests send bad requests on purpose

NOT_FOUND = {"detail": "Not found."}
FILE_KEYS = {
    "id", "name", "owner", "typeId", "dateUploaded", "relativePath", "path", "decryptedSize", "isUploaded",
    "isDeleted", "viewInBrowser", "sharedWith", "md5", "encodedEncryptionKey", "downloadUrl", "fileChecksums",
    "storage", "pathParts",
}
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DATE_Z6 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
KIB = bytes(range(256)) * 4  # 1024 bytes, every byte value


def listing(fake: Fake, api: requests.Session, **params: Any) -> list[dict[str, Any]]:
    response = api.get(fake.url("/api/v2/files/"), params={"page_size": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def names(fake: Fake, api: requests.Session, **params: Any) -> set[str]:
    return {f["name"] for f in listing(fake, api, **params)}


def contents_url(fake: Fake, file_id: str) -> str:
    return fake.url(f"/api/v2/files/{file_id}/contents/")


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def field_errors(body: Any) -> bool:
    return isinstance(body, dict) and bool(body) and all(
        isinstance(v, list) and v and all(isinstance(m, str) for m in v) for v in body.values()
    )


def tmp_leftovers(fake: Fake) -> list[Path]:
    return list(fake.backend.blobs.tmp.iterdir())


# -- upload ------------------------------------------------------------------------------------------------------
def test_upload_returns_a_complete_file(fake: Fake, api: requests.Session) -> None:
    data = b"print('pi')\n"
    created = fake.upload("calculate_pi.py", data)
    me = api.get(fake.url("/api/v2/users/me/")).json()
    assert set(created) == FILE_KEYS
    assert created["name"] == created["relativePath"] == "calculate_pi.py"
    assert created["owner"] == me["email"]
    assert created["typeId"] == 1
    assert re.fullmatch(DATE_Z6, created["dateUploaded"])
    assert re.fullmatch(rf"user/user_{me['id']}/calculate_pi-{UUID4}\.py", created["path"])
    assert created["decryptedSize"] == len(data)
    assert created["md5"] == hashlib.md5(data).hexdigest()
    assert created["fileChecksums"] == [{"hashFunction": "sha512", "fileHash": sha512(data)}]
    assert (created["isUploaded"], created["isDeleted"], created["sharedWith"]) == (True, False, [])
    assert created["downloadUrl"] == contents_url(fake, created["id"])
    assert len(base64.b64decode(created["encodedEncryptionKey"])) == 32
    assert created["pathParts"]["path"] == created["path"]
    assert re.fullmatch(r"[A-Za-z]{5,6}", created["id"])


def test_upload_date_is_the_tenants_clock(fake: Fake, api: requests.Session) -> None:
    fake.control.advance(3600)
    assert fake.upload()["dateUploaded"] == fake.control.clock()["now"]


def test_upload_without_extension_keeps_a_plain_path(fake: Fake, api: requests.Session) -> None:
    created = fake.upload("Allrun")
    assert re.fullmatch(rf"user/user_[A-Za-z]+/Allrun-{UUID4}", created["path"])


def test_two_uploads_get_distinct_ids_and_paths(fake: Fake, api: requests.Session) -> None:
    first, second = fake.upload(), fake.upload()
    assert first["id"] != second["id"] and first["path"] != second["path"]
    assert first["md5"] == second["md5"]


def test_notebook_file_upload(fake: Fake, tmp_path: Path) -> None:
    """Notebook cell 41: a list of ("file", (basename, fp, "application/octet-stream")) tuples."""
    path = tmp_path / "range.inp"
    path.write_bytes(b"0 1000000\n")
    with open(path, "rb") as fp:
        files = [("file", (os.path.basename(path), fp, "application/octet-stream"))]
        response = requests.post(fake.url("/api/v2/files/contents/"), headers=fake.headers, files=files)
    response.raise_for_status()
    assert response.status_code == 201
    assert response.json()["name"] == "range.inp"


def test_put_upload_works_too(fake: Fake, api: requests.Session) -> None:
    """The deprecated python-sdk uploads with PUT."""
    response = api.put(fake.url("/api/v2/files/contents/"), files={"file": ("sdk.txt", b"sdk\n")})
    assert response.status_code == 201
    created = response.json()
    assert set(created) == FILE_KEYS
    assert (created["name"], created["typeId"], created["decryptedSize"]) == ("sdk.txt", 1, 4)
    assert api.get(contents_url(fake, created["id"])).content == b"sdk\n"


@pytest.mark.parametrize("field", ["typeId", "type_id"])
def test_upload_honours_a_type_field(fake: Fake, api: requests.Session, field: str) -> None:
    created = fake.upload("template.inp", b"x=${x}\n", **{field: "2"})
    assert created["typeId"] == 2
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/")).json()["typeId"] == 2


@pytest.mark.parametrize("value", ["6", "abc", "0"])
def test_upload_with_an_invalid_type_is_400(fake: Fake, api: requests.Session, value: str) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("x.txt", b"x")}, data={"typeId": value})
    assert response.status_code == 400
    assert list(response.json()) == ["typeId"] and field_errors(response.json())
    assert listing(fake, api) == []


def test_upload_ignores_an_odd_part_content_type(fake: Fake, api: requests.Session) -> None:
    """rescalepy: files={'file': (name, fp, {'type_id': 1})} makes the part's Content-Type "{'type_id': 1}"."""
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("model.inp", b"*HEADING\n", {"type_id": 1})})
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["typeId"]) == ("model.inp", 1)


def test_upload_keeps_only_the_base_name(fake: Fake, api: requests.Session) -> None:
    assert fake.upload("job_inputs/calculate_pi.py")["name"] == "calculate_pi.py"


def test_upload_keeps_a_non_ascii_name(fake: Fake, api: requests.Session) -> None:
    created = fake.upload("résumé données.txt")
    assert created["name"] == "résumé données.txt"
    assert names(fake, api) == {"résumé données.txt"}


def test_upload_without_file_part_is_400(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"attachment": ("x.txt", b"x")})
    assert response.status_code == 400
    assert list(response.json()) == ["file"] and field_errors(response.json())
    assert listing(fake, api) == []


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b'{"file": "x"}'),
    ("text/plain", b"hello"),
    ("application/octet-stream", b"\0\1"),
])
def test_upload_of_a_non_multipart_body_is_415(fake: Fake, api: requests.Session, content_type: str,
                                                body: bytes) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), data=body, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}


def test_upload_with_an_empty_file_name_is_400(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("", b"nameless\n")})
    assert response.status_code == 400
    assert field_errors(response.json())
    assert listing(fake, api) == []


def test_rejected_upload_leaves_nothing_in_tmp(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/files/contents/"), files={"file": ("x.txt", b"x" * 100_000)},
                        data={"typeId": "6"})
    assert response.status_code == 400
    assert listing(fake, api) == []
    if fake.backend is not None:
        assert tmp_leftovers(fake) == []


@pytest.mark.slow
def test_streamed_20mb_upload_round_trips(fake: Fake, api: requests.Session, tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    with open(source, "rb") as fp:
        encoder = MultipartEncoder(fields={"file": ("big.bin", fp, "application/octet-stream")})
        response = api.post(fake.url("/api/v2/files/contents/"), data=encoder,
                            headers={"Content-Type": encoder.content_type})
    assert response.status_code == 201
    created = response.json()
    assert created["decryptedSize"] == len(data)
    assert created["fileChecksums"][0]["fileHash"] == sha512(data)
    assert created["md5"] == hashlib.md5(data).hexdigest()
    download = api.get(contents_url(fake, created["id"]))
    assert download.status_code == 200
    assert download.content == data


def _post_cut_off_upload(fake: Fake, sent: int, announced: int) -> None:
    """A multipart upload that announces `announced` bytes, sends `sent`, then hangs up."""
    parts = urlsplit(fake.base_url)
    boundary = "cutoffboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    request = (f"POST /api/v2/files/contents/ HTTP/1.1\r\nHost: {parts.netloc}\r\n"
               f"Authorization: Token {fake.api_key}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {announced}\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request + head + b"x" * (sent - len(head)))
        sock.shutdown(socket.SHUT_RDWR)


def test_upload_cut_off_mid_body_leaves_no_file(fake: Fake, api: requests.Session) -> None:
    _post_cut_off_upload(fake, sent=2 * 1024 * 1024, announced=8 * 1024 * 1024)
    # The server streams the body into the app (it does not buffer it first), so the app sees the cut and refuses
    # the form; wait (bounded) for that request to end, then nothing may remain of it.
    deadline = time.monotonic() + 10
    while not fake.control.journal(operationId="uploadFile") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e["status"] for e in fake.control.journal(operationId="uploadFile")] == [400]
    assert listing(fake, api) == []
    if fake.backend is not None:  # the staging file goes at the request's teardown, just after its response
        while tmp_leftovers(fake) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert tmp_leftovers(fake) == []


def test_upload_with_truncated_multipart_is_400_and_leaves_nothing(fake: Fake, api: requests.Session) -> None:
    """Content-Length matches, but the closing boundary never comes."""
    boundary = "truncatedboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.bin\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"y" * 300_000
    response = api.post(fake.url("/api/v2/files/contents/"), data=body,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 400
    assert field_errors(response.json()) or set(response.json()) == {"detail"}
    assert listing(fake, api) == []
    if fake.backend is not None:
        assert tmp_leftovers(fake) == []


# -- metadata, rename, delete ------------------------------------------------------------------------------------
def test_get_file_matches_the_upload(fake: Fake, api: requests.Session) -> None:
    created = fake.upload()
    response = api.get(fake.url(f"/api/v2/files/{created['id']}/"))
    assert response.status_code == 200
    assert response.json() == created


def test_get_unknown_file_is_404(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/files/NoSuch/"))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_patch_renames(fake: Fake, api: requests.Session) -> None:
    created = fake.upload("airfoil2d.zip", b"PK")
    response = api.patch(fake.url(f"/api/v2/files/{created['id']}/"), json={"name": "airfoil2d-v2.zip"})
    assert response.status_code == 200
    renamed = response.json()
    assert renamed["name"] == "airfoil2d-v2.zip"
    assert {k: v for k, v in renamed.items() if k != "name"} == {k: v for k, v in created.items() if k != "name"}
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/")).json() == renamed
    assert names(fake, api) == {"airfoil2d-v2.zip"}


@pytest.mark.parametrize("value", [4, "4"])
def test_patch_changes_type(fake: Fake, api: requests.Session, value: Any) -> None:
    created = fake.upload("run.sh", b"#!/bin/sh\n")
    response = api.patch(fake.url(f"/api/v2/files/{created['id']}/"), json={"typeId": value})
    assert response.status_code == 200
    assert response.json()["typeId"] == 4


@pytest.mark.parametrize("change, field", [
    ({"typeId": 6}, "typeId"),
    ({"typeId": "abc"}, "typeId"),
    ({"name": ""}, "name"),
    ({"name": "a/b.txt"}, "name"),
    ({"name": "x" * 256}, "name"),
])
def test_patch_invalid_is_400_and_changes_nothing(fake: Fake, api: requests.Session, change: dict,
                                                   field: str) -> None:
    created = fake.upload()
    response = api.patch(fake.url(f"/api/v2/files/{created['id']}/"), json=change)
    assert response.status_code == 400
    assert list(response.json()) == [field] and field_errors(response.json())
    assert api.get(fake.url(f"/api/v2/files/{created['id']}/")).json() == created


def test_patch_with_non_json_body_is_415(fake: Fake, api: requests.Session) -> None:
    created = fake.upload()
    response = api.patch(fake.url(f"/api/v2/files/{created['id']}/"), data="name=x",
                         headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_patch_unknown_file_is_404(fake: Fake, api: requests.Session) -> None:
    response = api.patch(fake.url("/api/v2/files/NoSuch/"), json={"name": "x.txt"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_delete_then_everything_is_404(fake: Fake, api: requests.Session) -> None:
    created = fake.upload()
    response = api.delete(fake.url(f"/api/v2/files/{created['id']}/"))
    assert response.status_code == 204
    assert response.content == b""
    for suffix in ("", "contents/", "lines/"):
        gone = api.get(fake.url(f"/api/v2/files/{created['id']}/{suffix}"))
        assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert listing(fake, api) == []


def test_second_delete_is_404(fake: Fake, api: requests.Session) -> None:
    created = fake.upload()
    assert api.delete(fake.url(f"/api/v2/files/{created['id']}/")).status_code == 204
    again = api.delete(fake.url(f"/api/v2/files/{created['id']}/"))
    assert (again.status_code, again.json()) == (404, NOT_FOUND)


def test_delete_leaves_other_files(fake: Fake, api: requests.Session) -> None:
    keep, drop = fake.upload("keep.txt"), fake.upload("drop.txt")
    assert api.delete(fake.url(f"/api/v2/files/{drop['id']}/")).status_code == 204
    assert [f["id"] for f in listing(fake, api)] == [keep["id"]]


def test_notebook_cleanup_deletes_todays_test_files(fake: Fake, api: requests.Session) -> None:
    """Notebook cell 82: list with search, parse dateUploaded after replacing Z, delete."""
    from datetime import datetime

    for name in ("testfile", "testfile.0", "keepme.txt"):
        fake.upload(name)
    now = datetime.fromisoformat(fake.control.clock()["now"].replace("Z", "+00:00"))
    test_files = listing(fake, api, search="testfile")
    to_delete = [f for f in test_files
                 if (now - datetime.fromisoformat(f["dateUploaded"].replace("Z", "+00:00"))).days == 0]
    assert len(to_delete) == 2
    for f in to_delete:
        requests.delete(fake.url(f"/api/v2/files/{f['id']}/"), headers=fake.headers).raise_for_status()
    assert names(fake, api) == {"keepme.txt"}


# -- list and search ---------------------------------------------------------------------------------------------
def test_list_is_newest_first(fake: Fake, api: requests.Session) -> None:
    ids = [fake.upload(f"{n}.txt")["id"] for n in range(3)]
    assert [f["id"] for f in listing(fake, api)] == ids[::-1]


def test_list_items_equal_get(fake: Fake, api: requests.Session) -> None:
    created = fake.upload()
    assert listing(fake, api) == [created]


@pytest.mark.parametrize("search, expected", [
    ("process", {"process_output.log", "PROCESS.txt"}),
    ("OUTPUT", {"process_output.log"}),
    ("_", {"process_output.log", "data_1.csv"}),
    ("%", {"100%.txt"}),
    ("a_1", {"data_1.csv"}),
    (".txt", {"PROCESS.txt", "100%.txt", "dataX1.txt"}),
    ("nothing-like-this", set()),
])
def test_search_is_a_literal_case_insensitive_substring(fake: Fake, api: requests.Session, search: str,
                                                        expected: set[str]) -> None:
    for name in ("process_output.log", "PROCESS.txt", "data_1.csv", "dataX1.txt", "100%.txt", "1000.csv"):
        fake.upload(name)
    assert names(fake, api, search=search) == expected
    assert api.get(fake.url("/api/v2/files/"), params={"search": search}).json()["count"] == len(expected)


def test_empty_search_lists_everything(fake: Fake, api: requests.Session) -> None:
    fake.upload("a.txt"), fake.upload("b.txt")
    assert names(fake, api, search="") == {"a.txt", "b.txt"}


# -- lines -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, lines", [
    (b"This is line 1.\nThis is line 2.\n", ["This is line 1.\n", "This is line 2.\n"]),
    (b"first\nno newline at the end", ["first\n", "no newline at the end"]),
    (b"dos\r\nlines\r\n", ["dos\r\n", "lines\r\n"]),
    (b"\n\n", ["\n", "\n"]),
    ("ünïcode\n".encode(), ["ünïcode\n"]),
])
def test_lines_keep_their_newlines(fake: Fake, api: requests.Session, data: bytes, lines: list[str]) -> None:
    created = fake.upload("process_output.log", data)
    response = api.get(fake.url(f"/api/v2/files/{created['id']}/lines/"))
    assert response.status_code == 200
    assert response.json() == {"lines": lines}
    assert "".join(response.json()["lines"]).encode() == data


def test_lines_of_a_binary_file_is_400(fake: Fake, api: requests.Session) -> None:
    created = fake.upload("mesh.bin", b"\x00\x01\x02binary\x00")
    response = api.get(fake.url(f"/api/v2/files/{created['id']}/lines/"))
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


# -- downloads ---------------------------------------------------------------------------------------------------
@pytest.fixture
def kib(fake: Fake, api: requests.Session) -> dict[str, Any]:
    return fake.upload("kib.bin", KIB)


def test_full_download(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    response = api.get(kib["downloadUrl"])
    assert response.status_code == 200
    assert response.content == KIB
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == "1024"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert re.fullmatch(r'"[^"]+"', response.headers["ETag"])  # strong
    assert "Content-Range" not in response.headers


def test_etag_follows_the_content(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    same = fake.upload("copy.bin", KIB)
    other = fake.upload("other.bin", KIB[::-1])
    etag = api.get(kib["downloadUrl"]).headers["ETag"]
    assert api.get(same["downloadUrl"]).headers["ETag"] == etag
    assert api.get(other["downloadUrl"]).headers["ETag"] != etag


def test_notebook_download_file(fake: Fake, kib: dict[str, Any], tmp_path: Path) -> None:
    """Notebook cell 51 (iter_content into a file) and cell 54 (sha512 check)."""
    response = requests.get(fake.url(f"/api/v2/files/{kib['id']}/contents/"), headers=fake.headers)
    with open(tmp_path / "kib.bin", "wb") as fd:
        for chunk in response.iter_content(4096):
            fd.write(chunk)
    assert sha512((tmp_path / "kib.bin").read_bytes()) == kib["fileChecksums"][0]["fileHash"]


@pytest.mark.parametrize("range_header, content_range, start, stop", [
    ("bytes=0-99", "bytes 0-99/1024", 0, 100),
    ("bytes=100-199", "bytes 100-199/1024", 100, 200),
    ("bytes=1023-1023", "bytes 1023-1023/1024", 1023, 1024),
    ("bytes=-100", "bytes 924-1023/1024", 924, 1024),
    ("bytes=-5000", "bytes 0-1023/1024", 0, 1024),
    ("bytes=900-", "bytes 900-1023/1024", 900, 1024),
    ("bytes=1000-1025", "bytes 1000-1023/1024", 1000, 1024),  # the notebook's end = decryptedSize + 1
    ("bytes=0-99999", "bytes 0-1023/1024", 0, 1024),
])
def test_range_is_206(fake: Fake, api: requests.Session, kib: dict[str, Any], range_header: str,
                      content_range: str, start: int, stop: int) -> None:
    response = api.get(kib["downloadUrl"], headers={"Range": range_header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == content_range
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(stop - start)
    assert response.content == KIB[start:stop]


@pytest.mark.parametrize("range_header", ["bytes=1024-", "bytes=1024-2000", "bytes=5000-6000"])
def test_unsatisfiable_range_is_416(fake: Fake, api: requests.Session, kib: dict[str, Any],
                                    range_header: str) -> None:
    response = api.get(kib["downloadUrl"], headers={"Range": range_header})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1024"
    assert response.json() == {"detail": "Requested range not satisfiable."}


@pytest.mark.parametrize("range_header", ["bytes=0-1,5-9", "bytes=abc", "lines=0-10", "bytes=5-2"])
def test_multiple_or_unparsable_ranges_give_the_whole_file(fake: Fake, api: requests.Session,
                                                           kib: dict[str, Any], range_header: str) -> None:
    response = api.get(kib["downloadUrl"], headers={"Range": range_header})
    assert response.status_code == 200
    assert response.content == KIB


def test_if_range_with_the_etag_honours_the_range(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    etag = api.get(kib["downloadUrl"]).headers["ETag"]
    response = api.get(kib["downloadUrl"], headers={"Range": "bytes=10-19", "If-Range": etag})
    assert response.status_code == 206
    assert response.content == KIB[10:20]


def test_if_range_with_a_stale_etag_sends_everything(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    response = api.get(kib["downloadUrl"], headers={"Range": "bytes=10-19", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert response.content == KIB
    assert "Content-Range" not in response.headers


def test_if_none_match_is_304(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    etag = api.get(kib["downloadUrl"]).headers["ETag"]
    response = api.get(kib["downloadUrl"], headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag


def test_if_none_match_with_a_stale_etag_is_200(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    response = api.get(kib["downloadUrl"], headers={"If-None-Match": '"stale"'})
    assert (response.status_code, response.content) == (200, KIB)


def test_head_gives_the_size_without_a_body(fake: Fake, api: requests.Session, kib: dict[str, Any]) -> None:
    response = api.head(kib["downloadUrl"])
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "1024"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.content == b""


def test_range_on_a_one_byte_file(fake: Fake, api: requests.Session) -> None:
    created = fake.upload("one.txt", b"1")
    response = api.get(created["downloadUrl"], headers={"Range": "bytes=0-0"})
    assert (response.status_code, response.headers["Content-Range"], response.content) == (206, "bytes 0-0/1", b"1")


def test_notebook_concurrent_download(fake: Fake, api: requests.Session, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Notebook cell 75 as written (bench/notebook_transfer.py), each thread with its own Range header (the notebook
    mutates one shared dict from ten threads, a race the fake must not be blamed for); it checks the sha512."""
    monkeypatch.chdir(tmp_path)  # the notebook writes its parts and the result in the current directory
    data = os.urandom(3 * 1024 * 1024 + 7)
    created = fake.upload("testfile", data)
    concurrent_download(fake.base_url, PerThreadRange(fake.headers), created["id"], num_threads=10, threshold_mb=1)
    assert (tmp_path / "testfile").read_bytes() == data
    calls = fake.control.journal(operationId="downloadFile")
    assert sorted(c["status"] for c in calls) == [206] * 10
