"""DRF page envelopes (reference §2.6): sizes, absolute `next`/`previous` links, bad `page`/`page_size` values."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from rescale_mock.testing import Fake

from .notebook import get_all_result_pages

pytestmark = pytest.mark.twins("inprocess", "served", "postgres", "proxied")  # some tests send bad requests on purpose

CORE_TYPES = 27
INVALID_PAGE = {"detail": "Invalid page."}
PAGED_PATHS = ["/api/v2/coretypes/", "/api/v3/coretypes/", "/api/v2/analyses/", "/api/v3/analyses/",
               "/api/v2/users/me/projects/", "/api/v2/files/"]


def page(fake: Fake, api: requests.Session, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(fake.url(path), params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body


def link(url: str) -> tuple[str, str, dict[str, list[str]]]:
    """(scheme://host:port, path, query) of a page link."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path, parse_qs(parts.query, keep_blank_values=True)


# -- sizes -------------------------------------------------------------------------------------------------------
def test_v2_default_page_size_is_10(fake: Fake, api: requests.Session) -> None:
    pages = [page(fake, api, "/api/v2/coretypes/", page=n) for n in (1, 2, 3)]
    assert [p["count"] for p in pages] == [CORE_TYPES] * 3
    assert [len(p["results"]) for p in pages] == [10, 10, 7]
    assert pages[2]["next"] is None


def test_v3_default_page_size_is_25(fake: Fake, api: requests.Session) -> None:
    first = page(fake, api, "/api/v3/coretypes/")
    assert (first["count"], len(first["results"])) == (CORE_TYPES, 25)
    assert len(requests.get(first["next"], headers=fake.headers).json()["results"]) == 2


@pytest.mark.parametrize("size, sizes", [(1, [1] * CORE_TYPES), (13, [13, 13, 1]), (27, [27]), (1000, [27])])
def test_explicit_page_size(fake: Fake, api: requests.Session, size: int, sizes: list[int]) -> None:
    first = page(fake, api, "/api/v2/coretypes/", page_size=size)
    seen = [len(first["results"])]
    url = first["next"]
    while url:
        body = requests.get(url, headers=fake.headers).json()
        seen.append(len(body["results"]))
        url = body["next"]
    assert seen == sizes


def test_page_size_above_1000_is_clamped_not_rejected(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes/", page_size=9999)  # PathmindAI's client sends 9999
    assert (body["count"], len(body["results"]), body["next"]) == (CORE_TYPES, CORE_TYPES, None)


@pytest.mark.slow
@pytest.mark.twins("inprocess")  # 1001 uploads; the paging is the same in every twin (link rewriting: tests below)
def test_page_size_clamp_is_1000(fake: Fake, api: requests.Session) -> None:
    """With 1001 files, page_size=5000 still gives 1000 per page and a second page of one."""
    for n in range(1001):
        assert api.post(fake.url("/api/v2/files/contents/"), files={"file": (f"f{n}.txt", b"x")}).status_code == 201
    first = page(fake, api, "/api/v2/files/", page_size=5000)
    assert (first["count"], len(first["results"])) == (1001, 1000)
    assert link(first["next"])[2] == {"page_size": ["5000"], "page": ["2"]}
    second = requests.get(first["next"], headers=fake.headers).json()
    assert [f["name"] for f in second["results"]] == ["f0.txt"]  # newest first: the first upload comes last


# -- links -------------------------------------------------------------------------------------------------------
def test_next_is_absolute_on_the_fakes_own_host(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes/")
    assert body["previous"] is None
    origin, path, query = link(body["next"])
    assert origin == fake.base_url
    assert path == "/api/v2/coretypes/"
    assert query == {"page": ["2"]}


def test_links_keep_other_query_params(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes/", isActive="true", page_size=5, page=2)
    assert link(body["next"]) == (fake.base_url, "/api/v2/coretypes/",
                                  {"isActive": ["true"], "page_size": ["5"], "page": ["3"]})
    assert link(body["previous"]) == (fake.base_url, "/api/v2/coretypes/", {"isActive": ["true"], "page_size": ["5"]})


def test_previous_of_page_3_names_page_2(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes/", page=3)
    assert body["next"] is None
    assert link(body["previous"])[2] == {"page": ["2"]}


def test_previous_of_page_2_has_no_page_param(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes/", page=2)
    assert link(body["previous"]) == (fake.base_url, "/api/v2/coretypes/", {})
    assert requests.get(body["previous"], headers=fake.headers).json() == page(fake, api, "/api/v2/coretypes/")


def test_following_next_collects_every_item_once(fake: Fake, api: requests.Session) -> None:
    items = get_all_result_pages(fake.url("/api/v2/coretypes/"), fake.headers)
    codes = [c["code"] for c in items]
    assert len(codes) == CORE_TYPES == len(set(codes))
    assert items == page(fake, api, "/api/v2/coretypes/", page_size=1000)["results"]


def test_following_next_keeps_a_filter(fake: Fake) -> None:
    items = get_all_result_pages(fake.url("/api/v3/coretypes/"), fake.headers, {"isActive": "true", "page_size": 4})
    assert len(items) == 25 and all(c["isActive"] for c in items)


def test_following_previous_walks_back(fake: Fake, api: requests.Session) -> None:
    last = page(fake, api, "/api/v2/coretypes/", page=3)
    back = []
    url = last["previous"]
    while url:
        body = requests.get(url, headers=fake.headers).json()
        back = body["results"] + back
        url = body["previous"]
    assert back + last["results"] == page(fake, api, "/api/v2/coretypes/", page_size=1000)["results"]


def test_links_without_trailing_slash_keep_the_request_path(fake: Fake, api: requests.Session) -> None:
    body = page(fake, api, "/api/v2/coretypes")
    assert link(body["next"]) == (fake.base_url, "/api/v2/coretypes", {"page": ["2"]})
    followed = requests.get(body["next"], headers=fake.headers)
    assert followed.json()["results"] == page(fake, api, "/api/v2/coretypes/", page=2)["results"]


# -- errors ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGED_PATHS)
@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5"])
def test_bad_page_size_is_400_field_error(fake: Fake, api: requests.Session, path: str, value: str) -> None:
    response = api.get(fake.url(path), params={"page_size": value})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["page_size"]
    assert isinstance(body["page_size"], list) and all(isinstance(m, str) and m for m in body["page_size"])


def test_page_size_abc_message(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/coretypes/"), params={"page_size": "abc"})
    assert response.json() == {"page_size": ["A valid integer is required."]}


@pytest.mark.parametrize("path", PAGED_PATHS)
@pytest.mark.parametrize("value", ["0", "abc", "-2", "99"])
def test_bad_or_past_the_end_page_is_404(fake: Fake, api: requests.Session, path: str, value: str) -> None:
    response = api.get(fake.url(path), params={"page": value})
    assert response.status_code == 404
    assert response.json() == INVALID_PAGE


def test_first_page_past_the_end_is_404(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/coretypes/"), params={"page": 4})
    assert response.status_code == 404
    assert response.json() == INVALID_PAGE


def test_page_1_of_an_empty_list_is_200(fake: Fake, api: requests.Session) -> None:
    assert page(fake, api, "/api/v2/files/", page=1) == {"count": 0, "next": None, "previous": None, "results": []}


def test_page_2_of_an_empty_list_is_404(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/files/"), params={"page": 2})
    assert (response.status_code, response.json()) == (404, INVALID_PAGE)


# -- compute prices are not paged --------------------------------------------------------------------------------
def test_compute_prices_is_not_an_envelope(fake: Fake, api: requests.Session) -> None:
    prices = api.get(fake.url("/api/v2/billing/computeprices/")).json()
    assert isinstance(prices, list)
    assert len(prices) > 10  # more than one default page, all at once
