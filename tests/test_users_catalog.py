"""The user, projects and the read-only catalog: core types, analyses and compute prices (reference §2.3, §4.4-4.8),
called as the notebook (seed 002, cells 5-19 and 26) calls them."""
from __future__ import annotations

from typing import Any

import pytest
import requests

from rescale_mock.testing import Fake

from .notebook import get_all_result_pages

PRICE_KEYS = {"price", "lowPriorityPrice", "walltimeRequired"}
CORE_TYPE_KEYS = {
    "code", "name", "description", "displayOrder", "isPrimary", "isDeprecated", "isActive", "hasSsd", "compute",
    "remoteVizAllowed", "storage", "memory", "io", "storageIo", "cores", "gpuCounts", "processorInfo", "categoryCodes",
}
VERSION_KEYS = {"version", "versionCode", "allowedCoreTypes", "stdCommand", "mpiCommand", "smpCommand", "eula"}


def everything(fake: Fake, api: requests.Session, path: str, **params: Any) -> dict[str, Any]:
    response = api.get(fake.url(path), params={"page_size": 1000, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next"] is None and body["previous"] is None
    assert body["count"] == len(body["results"])
    return body


# -- users and projects ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_current_user_shape(fake: Fake, api: requests.Session, version: str) -> None:
    response = api.get(fake.url(f"/api/{version}/users/me/"))
    assert response.status_code == 200
    me = response.json()
    assert set(me) == {"id", "email", "fullName", "firstName", "lastName", "company", "workspace", "defaultStorage"}
    assert set(me["company"]) == {"code", "name", "projects"}
    assert all(set(p) == {"id", "name"} for p in me["company"]["projects"]) and me["company"]["projects"]
    assert set(me["workspace"]) == {"id", "name"}
    assert set(me["defaultStorage"]) == {"id", "storageType", "encryptionType", "connectionSettings"}
    assert me["defaultStorage"]["storageType"] in ("S3Storage", "AzureStorage")
    assert "@" in me["email"]


def test_current_user_is_the_same_on_v2_and_v3(fake: Fake, api: requests.Session) -> None:
    assert api.get(fake.url("/api/v2/users/me/")).json() == api.get(fake.url("/api/v3/users/me/")).json()


def test_projects_list(fake: Fake, api: requests.Session) -> None:
    """Notebook cell 26."""
    response = api.get(fake.url("/api/v2/users/me/projects/"))
    assert response.status_code == 200
    page = response.json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == len(page["results"]) >= 1
    assert all(set(p) == {"id", "name", "isDefault"} and p["id"] and p["name"] for p in page["results"])
    projects = get_all_result_pages(fake.url("/api/v2/users/me/projects/"), fake.headers)
    assert projects == page["results"]


# -- core types --------------------------------------------------------------------------------------------------
def test_v2_core_types_have_prices(fake: Fake, api: requests.Session) -> None:
    core_types = everything(fake, api, "/api/v2/coretypes/")["results"]
    assert len(core_types) == 27
    for core_type in core_types:
        assert set(core_type) == CORE_TYPE_KEYS | PRICE_KEYS
        assert isinstance(core_type["price"], (int, float))
        assert isinstance(core_type["lowPriorityPrice"], str)
        float(core_type["lowPriorityPrice"])
        assert isinstance(core_type["walltimeRequired"], bool)
        assert core_type["cores"] and all(isinstance(n, int) and n >= 1 for n in core_type["cores"])


def test_v3_core_types_have_no_prices(fake: Fake, api: requests.Session) -> None:
    v3 = everything(fake, api, "/api/v3/coretypes/")["results"]
    v2 = everything(fake, api, "/api/v2/coretypes/")["results"]
    assert all(set(core_type) == CORE_TYPE_KEYS for core_type in v3)
    assert v3 == [{k: v for k, v in c.items() if k not in PRICE_KEYS} for c in v2]


@pytest.mark.parametrize("version", ["v2", "v3"])
@pytest.mark.parametrize("flag, active", [("true", True), ("True", True), ("false", False)])
def test_is_active_filter(fake: Fake, api: requests.Session, version: str, flag: str, active: bool) -> None:
    all_codes = {c["code"]: c["isActive"] for c in everything(fake, api, f"/api/{version}/coretypes/")["results"]}
    filtered = everything(fake, api, f"/api/{version}/coretypes/", isActive=flag)["results"]
    assert [c["code"] for c in filtered] == [code for code, is_active in all_codes.items() if is_active == active]
    assert filtered and all(c["isActive"] is active for c in filtered)


def test_is_active_true_leaves_out_inactive_core_types(fake: Fake, api: requests.Session) -> None:
    page = api.get(fake.url("/api/v2/coretypes/"), params={"isActive": "true"}).json()
    assert page["count"] == 25
    assert [c["isActive"] for c in page["results"]] == [True] * 10


def test_core_types_ordered_by_display_order(fake: Fake, api: requests.Session) -> None:
    orders = [c["displayOrder"] for c in everything(fake, api, "/api/v2/coretypes/")["results"]]
    assert orders == sorted(orders)


# -- analyses ----------------------------------------------------------------------------------------------------
def test_v2_analyses_have_support_desks_and_no_version_ids(fake: Fake, api: requests.Session) -> None:
    analyses = everything(fake, api, "/api/v2/analyses/")["results"]
    for analysis in analyses:
        assert isinstance(analysis["supportDesks"], list)
        assert all(set(d) == {"code", "displayName", "email"} for d in analysis["supportDesks"])
        assert analysis["versions"], analysis["code"]
        assert all(set(v) == VERSION_KEYS for v in analysis["versions"])


def test_v3_analyses_have_version_ids_and_no_support_desks(fake: Fake, api: requests.Session) -> None:
    v3 = everything(fake, api, "/api/v3/analyses/")["results"]
    v2 = everything(fake, api, "/api/v2/analyses/")["results"]
    assert [a["code"] for a in v3] == [a["code"] for a in v2]
    for analysis in v3:
        assert "supportDesks" not in analysis
        assert all(set(v) == VERSION_KEYS | {"id"} and v["id"] for v in analysis["versions"])
    ids = [v["id"] for a in v3 for v in a["versions"]]
    assert len(ids) == len(set(ids))


def test_v3_version_ids_are_stable(fake: Fake, api: requests.Session) -> None:
    first = everything(fake, api, "/api/v3/analyses/")["results"]
    assert everything(fake, api, "/api/v3/analyses/")["results"] == first


@pytest.mark.parametrize("code", ["user_included", "openfoam", "ansys_fluent", "abaqus", "chainer"])
def test_known_analyses_are_listed(fake: Fake, api: requests.Session, code: str) -> None:
    analyses = {a["code"]: a for a in get_all_result_pages(fake.url("/api/v2/analyses/"), fake.headers)}
    assert code in analyses
    assert analyses[code]["versions"][0]["versionCode"]


def test_byos_analysis_has_version_zero(fake: Fake, api: requests.Session) -> None:
    analyses = {a["code"]: a for a in everything(fake, api, "/api/v2/analyses/")["results"]}
    assert [v["versionCode"] for v in analyses["user_included"]["versions"]] == ["0"]
    assert analyses["openfoam"]["versions"][0]["versionCode"] == "2.3.0-openmpi"  # latest first


def test_notebook_counts_analyses_and_versions(fake: Fake, api: requests.Session) -> None:
    """Notebook cell 19."""
    analyses = get_all_result_pages(fake.url("/api/v2/analyses/"), fake.headers)
    assert len(analyses) == api.get(fake.url("/api/v2/analyses/")).json()["count"]
    assert sum(len(a["versions"]) for a in analyses) > len(analyses)
    assert analyses[0]["code"] and analyses[0]["versions"][0]["versionCode"]


# -- compute prices ----------------------------------------------------------------------------------------------
def test_compute_prices_are_a_bare_array(fake: Fake, api: requests.Session) -> None:
    response = api.get(fake.url("/api/v2/billing/computeprices/"))
    assert response.status_code == 200
    prices = response.json()
    assert isinstance(prices, list) and prices
    for price in prices:
        assert set(price) == {"coreType", "planName", "planType", "os", "isActive", "value"}
        assert set(price["value"]) == {"amount", "currency"}
        float(price["value"]["amount"])


def test_compute_prices_ignore_paging_params(fake: Fake, api: requests.Session) -> None:
    everything_at_once = api.get(fake.url("/api/v2/billing/computeprices/")).json()
    assert api.get(fake.url("/api/v2/billing/computeprices/"), params={"page_size": 2}).json() == everything_at_once


def test_notebook_finds_granite_as_cheapest_general_linux_ode(fake: Fake, api: requests.Session) -> None:
    """Notebook cells 13, 15 and 17."""
    coretypes = get_all_result_pages(fake.url("/api/v2/coretypes/"), fake.headers)
    assert len(coretypes) == 27
    general_coretypes = {
        c["code"]: {"cores": c["cores"], "processorInfo": c["processorInfo"]}
        for c in coretypes
        if "general" in c["categoryCodes"]
    }
    assert "granite" in general_coretypes

    prices_res = requests.get(fake.url("/api/v2/billing/computeprices/"), headers=fake.headers)
    prices_res.raise_for_status()
    linux_ode_coretypes = {
        c["coreType"]: float(c["value"]["amount"])
        for c in prices_res.json()
        if c["planType"].endswith("on-demand")
        and c["os"] == "linux"
        and c["isActive"]
        and c["coreType"] in general_coretypes
    }
    assert set(linux_ode_coretypes) == set(general_coretypes)
    min_price_coretype = min(linux_ode_coretypes, key=linux_ode_coretypes.get)  # type: ignore[arg-type]
    assert min_price_coretype == "granite"


def test_every_active_core_type_has_an_ode_linux_price(fake: Fake, api: requests.Session) -> None:
    active = {c["code"] for c in everything(fake, api, "/api/v2/coretypes/", isActive="true")["results"]}
    prices = api.get(fake.url("/api/v2/billing/computeprices/")).json()
    priced = {p["coreType"] for p in prices if p["planType"].endswith("on-demand") and p["os"] == "linux"}
    assert active <= priced
