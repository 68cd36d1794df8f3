"""v3 files as Rescale's python-sdk and Interlink use them (reference rescale-api-v3-and-catalog.md, "v3 files"):
PUT/POST multipart uploads under /api/v3/, listing with search, page_size, ordering and limit, metadata, rename,
delete, ranged downloads and lines; the same files seen through v2."""
from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from rescale_mock.testing import Fake

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "s3", "s3-served")  # S3: blobs in moto


def upload_v3(fake: Fake, api: requests.Session, name: str, data: bytes, method: str = "PUT") -> dict[str, Any]:
    url = urljoin(fake.url("/api/v3/"), "files/contents/")  # the SDK builds its URLs this way
    response = api.request(method, url, files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return response.json()


def test_put_and_post_uploads_answer_201_with_a_file(fake: Fake, api: requests.Session) -> None:
    put = upload_v3(fake, api, "a.txt", b"alpha\n")
    post = upload_v3(fake, api, "b.txt", b"beta\n", method="POST")
    for record, size in ((put, 6), (post, 5)):
        assert record["decryptedSize"] == size
        assert record["fileChecksums"][0]["hashFunction"] == "sha512"
    assert api.get(fake.url(f"/api/v2/files/{put['id']}/")).json()["name"] == "a.txt"


def test_listing_searches_orders_and_limits(fake: Fake, api: requests.Session) -> None:
    names = ["run-b.log", "run-a.log", "other.txt"]
    for name in names:
        upload_v3(fake, api, name, b"x\n")
    newest = api.get(fake.url("/api/v3/files/"), params={"ordering": "-dateUploaded"}).json()
    assert [f["name"] for f in newest["results"]] == names[::-1]
    by_name = api.get(fake.url("/api/v3/files/"), params={"ordering": "name"}).json()
    assert [f["name"] for f in by_name["results"]] == sorted(names)
    found = api.get(fake.url("/api/v3/files/"), params={"search": "run-", "page_size": 1}).json()
    assert found["count"] == 2 and len(found["results"]) == 1 and found["next"]
    limited = api.get(fake.url("/api/v3/files/"), params={"limit": 2, "ordering": "-dateUploaded"}).json()
    assert [f["name"] for f in limited["results"]] == ["other.txt", "run-a.log"]
    bad = api.get(fake.url("/api/v3/files/"), params={"ordering": "size"})
    assert bad.status_code == 400 and "ordering" in bad.json()


def test_get_patch_delete_with_and_without_the_slash(fake: Fake, api: requests.Session) -> None:
    file_id = upload_v3(fake, api, "in.txt", b"one\n")["id"]
    assert api.get(fake.url(f"/api/v3/files/{file_id}")).json()["id"] == file_id
    renamed = api.patch(fake.url(f"/api/v3/files/{file_id}/"), json={"name": "renamed.txt"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "renamed.txt"
    assert api.patch(fake.url(f"/api/v3/files/{file_id}/"), json={"name": ""}).status_code == 400
    assert api.delete(fake.url(f"/api/v3/files/{file_id}")).status_code == 204
    assert api.get(fake.url(f"/api/v3/files/{file_id}/")).status_code == 404


def test_contents_with_range_and_lines(fake: Fake, api: requests.Session) -> None:
    file_id = upload_v3(fake, api, "lines.txt", b"first\nsecond\n")["id"]
    whole = api.get(fake.url(f"/api/v3/files/{file_id}/contents/"))
    assert whole.status_code == 200 and whole.content == b"first\nsecond\n"
    part = api.get(fake.url(f"/api/v3/files/{file_id}/contents/"), headers={"Range": "bytes=6-100"})
    assert part.status_code == 206 and part.content == b"second\n"
    assert part.headers["Content-Range"] == "bytes 6-12/13"
    past = api.get(fake.url(f"/api/v3/files/{file_id}/contents/"), headers={"Range": "bytes=99-"})
    assert past.status_code == 416
    assert api.get(fake.url(f"/api/v3/files/{file_id}/lines/")).json() == {"lines": ["first\n", "second\n"]}
    binary = upload_v3(fake, api, "blob.bin", b"\0\1\2")["id"]
    assert api.get(fake.url(f"/api/v3/files/{binary}/lines/")).status_code == 400


def test_v3_files_need_a_token(fake: Fake) -> None:
    assert requests.get(fake.url("/api/v3/files/"), timeout=10).status_code == 401
