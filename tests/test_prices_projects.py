"""Prices, projects and core type fields that real clients pivot on (reference rescale-api-v3-and-catalog.md,
"Compute prices" and "Catalog fields real clients read"): planName with the real plan vocabulary on v2 and v3,
v3 users/me/projects/ with isDefault, users/me with company.projects, coretypes with gpuCounts."""
from __future__ import annotations

import pytest
import requests

from rescale_mock.testing import Fake

PLANS = {"2019-on-demand": "pay-as-you-go-on-demand", "2019-on-demand-pro": "pay-as-you-go-instant"}


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_prices_carry_the_real_plan_vocabulary(fake: Fake, api: requests.Session, version: str) -> None:
    prices = api.get(fake.url(f"/api/{version}/billing/computeprices/")).json()
    assert isinstance(prices, list) and prices
    assert {(p["planType"], p["planName"]) for p in prices} == set(PLANS.items())
    economy = {p["coreType"]: float(p["value"]["amount"]) for p in prices
               if p["planType"].endswith("on-demand") and p["os"] == "linux"}
    priority = {p["coreType"]: float(p["value"]["amount"]) for p in prices
                if p["planType"] == "2019-on-demand-pro" and p["os"] == "linux"}
    assert all(economy[code] < priority[code] for code in economy)


def test_v2_and_v3_prices_agree(fake: Fake, api: requests.Session) -> None:
    assert api.get(fake.url("/api/v2/billing/computeprices/")).json() == \
        api.get(fake.url("/api/v3/billing/computeprices/")).json()


def test_v3_projects_and_the_company_projects(fake: Fake, api: requests.Session) -> None:
    page = api.get(fake.url("/api/v3/users/me/projects/")).json()
    assert page["count"] == len(page["results"]) >= 1
    assert [p["isDefault"] for p in page["results"]].count(True) == 1
    me = api.get(fake.url("/api/v3/users/me/")).json()
    assert me["company"]["projects"] == [{"id": p["id"], "name": p["name"]} for p in page["results"]]
    assert api.get(fake.url("/api/v3/users/me/projects/"), params={"page": 9}).status_code == 404


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_core_types_have_gpu_counts_parallel_to_cores(fake: Fake, api: requests.Session, version: str) -> None:
    page = api.get(fake.url(f"/api/{version}/coretypes/"), params={"page_size": 100}).json()
    for core_type in page["results"]:
        assert len(core_type["gpuCounts"]) == len(core_type["cores"])
    by_code = {c["code"]: c for c in page["results"]}
    assert set(by_code["emerald"]["gpuCounts"]) == {0}
    assert min(by_code["obsidian"]["gpuCounts"]) >= 1
