"""Authentication, tenant isolation, trailing slashes and the API's own 404/405/OPTIONS answers (reference §1, §5.1)."""
from __future__ import annotations

import pytest
import requests

from rescale_mock.testing import Fake

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}
INVALID_TOKEN = {"detail": "Invalid token."}
NOT_FOUND = {"detail": "Not found."}

GET_PATHS = [
    "/api/v2/",
    "/api/v2/users/me/",
    "/api/v3/users/me/",
    "/api/v2/users/me/projects/",
    "/api/v2/coretypes/",
    "/api/v3/coretypes/",
    "/api/v2/analyses/",
    "/api/v3/analyses/",
    "/api/v2/billing/computeprices/",
    "/api/v2/files/",
]


def allowed(response: requests.Response) -> set[str]:
    return {m.strip() for m in response.headers["Allow"].split(",")}


# -- authentication ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GET_PATHS)
def test_no_header_is_401_with_challenge(fake: Fake, path: str) -> None:
    response = requests.get(fake.url(path))
    assert response.status_code == 401
    assert response.json() == NO_CREDENTIALS
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("path", GET_PATHS)
def test_unknown_key_is_401_invalid_token(fake: Fake, path: str) -> None:
    response = requests.get(fake.url(path), headers={"Authorization": "Token 0000000000notakey0000000000"})
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response.headers["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "header, detail",
    [
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("Bearer x", NO_CREDENTIALS["detail"]),
        ("Basic dXNlcjpwYXNz", NO_CREDENTIALS["detail"]),
    ],
)
def test_malformed_authorization_header_is_401(fake: Fake, header: str, detail: str) -> None:
    response = requests.get(fake.url("/api/v2/users/me/"), headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


def test_token_keyword_is_case_insensitive(fake: Fake) -> None:
    response = requests.get(fake.url("/api/v2/users/me/"), headers={"Authorization": f"token {fake.api_key}"})
    assert response.status_code == 200


def test_api_root_with_valid_key_is_not_401(fake: Fake, api: requests.Session) -> None:
    """rescalepy's validate_api_token(): any answer but 401 means the key works."""
    response = api.get(fake.url("/api/v2/"))
    assert response.status_code == 200
    root = response.json()
    assert root["files"] == fake.url("/api/v2/files/")
    assert root["coretypes"] == fake.url("/api/v2/coretypes/")
    assert all(url.startswith(fake.base_url + "/api/v2/") for url in root.values())


# -- tenant isolation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", "contents/", "lines/"])
def test_other_tenants_file_is_404_on_reads(fake: Fake, api: requests.Session, other: Fake, suffix: str) -> None:
    theirs = other.upload()
    response = api.get(fake.url(f"/api/v2/files/{theirs['id']}/{suffix}"))
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_other_tenants_file_cannot_be_deleted_or_patched(fake: Fake, api: requests.Session, other: Fake) -> None:
    theirs = other.upload()
    url = fake.url(f"/api/v2/files/{theirs['id']}/")
    assert api.delete(url).json() == NOT_FOUND
    assert api.patch(url, json={"name": "stolen.txt"}).status_code == 404
    assert other.session().get(other.url(f"/api/v2/files/{theirs['id']}/")).json()["name"] == "input.txt"


def test_other_tenants_files_are_absent_from_lists(fake: Fake, api: requests.Session, other: Fake) -> None:
    mine = fake.upload("mine.txt")
    other.upload("theirs.txt")
    listing = api.get(fake.url("/api/v2/files/")).json()
    assert listing["count"] == 1
    assert [f["id"] for f in listing["results"]] == [mine["id"]]
    assert api.get(fake.url("/api/v2/files/"), params={"search": "theirs"}).json()["count"] == 0


def test_tenants_are_different_users(fake: Fake, api: requests.Session, other: Fake) -> None:
    me = api.get(fake.url("/api/v2/users/me/")).json()
    them = other.session().get(other.url("/api/v2/users/me/")).json()
    assert me["id"] != them["id"]
    assert me["email"] != them["email"]


# -- trailing slashes --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GET_PATHS)
def test_get_works_with_and_without_trailing_slash(fake: Fake, api: requests.Session, path: str) -> None:
    with_slash = api.get(fake.url(path))
    without = api.get(fake.url(path.rstrip("/")))
    assert with_slash.status_code == without.status_code == 200
    if "next" not in with_slash.json():  # paged bodies differ only in their links
        assert without.json() == with_slash.json()
    else:
        assert without.json()["results"] == with_slash.json()["results"]


@pytest.mark.parametrize("suffix", ["", "/contents", "/lines"])
def test_file_gets_work_without_trailing_slash(fake: Fake, api: requests.Session, suffix: str) -> None:
    created = fake.upload()
    response = api.get(fake.url(f"/api/v2/files/{created['id']}{suffix}"))
    assert response.status_code == 200
    if suffix == "/contents":
        assert response.content == b"hello\n"
    elif suffix == "/lines":
        assert response.json() == {"lines": ["hello\n"]}
    else:
        assert response.json() == created


def test_upload_works_without_trailing_slash(fake: Fake, api: requests.Session) -> None:
    response = api.post(fake.url("/api/v2/files/contents"), files={"file": ("noslash.txt", b"x")})
    assert response.status_code == 201
    assert response.json()["name"] == "noslash.txt"


# -- routing errors ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v2/nope/", "/api/v9/coretypes/", "/api/v2/files/abc/nothing/", "/api/"])
def test_unknown_api_path_is_404_json(fake: Fake, api: requests.Session, path: str) -> None:
    response = api.get(fake.url(path))
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("DELETE", "/api/v2/coretypes/", {"GET", "OPTIONS"}),
        ("POST", "/api/v2/users/me/", {"GET", "OPTIONS"}),
        ("GET", "/api/v2/files/contents/", {"POST", "PUT", "OPTIONS"}),
        ("PUT", "/api/v2/files/XkpTse/", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        ("POST", "/api/v2/billing/computeprices/", {"GET", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_allow(fake: Fake, api: requests.Session, method: str, path: str,
                                        expected: set[str]) -> None:
    response = api.request(method, fake.url(path))
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    assert allowed(response) - {"HEAD"} == expected


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/api/v2/coretypes/", {"GET", "OPTIONS"}),
        ("/api/v2/files/XkpTse/", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        ("/api/v2/files/contents/", {"POST", "PUT", "OPTIONS"}),
    ],
)
def test_options_is_200_with_allow(fake: Fake, api: requests.Session, path: str, expected: set[str]) -> None:
    response = api.options(fake.url(path))
    assert response.status_code == 200
    assert allowed(response) - {"HEAD"} == expected
