"""A catalog users extend (reference rescale-api-v3-and-catalog.md: a real workspace lists 700+ analyses, different
per workspace): `--catalog FILE` merged over the built-in catalog, control-plane additions per tenant, the strict
and lenient catalog modes, and the pytest plugin's `rescale_catalog` marker."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from rescale_mock.domain.catalog import Catalog, builtin_catalog, merge_catalogs
from rescale_mock.jsonbody import BAD_TEXT
from rescale_mock.testing import Fake, ServedProcess

from .doe import doe_body, doe_files

MY_SOLVER = {"analyses": [{"code": "my_solver", "name": "My Solver", "versions": [{"versionCode": "2.1"}]}],
             "coreTypes": [{"code": "ruby", "name": "Ruby", "cores": [1, 2, 4], "gpuCounts": [0, 0, 1]}]}


def job(code: str = "my_solver", version: str = "2.1", core: str = "ruby", cores: int = 2) -> dict[str, Any]:
    return {"name": "mine", "jobanalyses": [{"analysis": {"code": code, "version": version}, "command": "run",
                                             "hardware": {"coreType": core, "coresPerSlot": cores}}]}


def codes(fake: Fake, api: requests.Session, what: str) -> set[str]:
    return {e["code"] for e in api.get(fake.url(f"/api/v2/{what}/"), params={"page_size": 1000}).json()["results"]}


# -- merging -------------------------------------------------------------------------------------------------------
def test_merge_adds_updates_and_keeps_versions_latest_first() -> None:
    base = builtin_catalog()
    merged = merge_catalogs(base, {"analyses": [{"code": "openfoam", "versions": [{"versionCode": "11-openmpi"}]},
                                                {"code": "new_code"}],
                                   "coreTypes": [{"code": "granite", "name": "Granite II"}]})
    catalog = Catalog(merged)
    assert catalog.analysis("openfoam")["versions"][0]["versionCode"] == "11-openmpi"
    assert len(catalog.analysis("openfoam")["versions"]) == len(Catalog(base).analysis("openfoam")["versions"]) + 1
    assert catalog.core_type("granite")["name"] == "Granite II" and catalog.core_type("granite")["cores"]
    assert catalog.analysis("new_code")["versions"] == []
    assert base == builtin_catalog()  # the built-in catalog is never changed


# -- control plane -------------------------------------------------------------------------------------------------
def test_strict_mode_refuses_unknown_codes_until_the_tenant_adds_them(fake: Fake, api: requests.Session) -> None:
    refused = api.post(fake.url("/api/v2/jobs/"), json=job())
    assert refused.status_code == 400
    assert refused.json()["jobanalyses"][0]["analysis"] == {"code": ['"my_solver" is not a valid analysis code.']}
    summary = fake.control.add_catalog(MY_SOLVER)
    assert summary["analyses"] == len(builtin_catalog()["analyses"]) + 1
    created = api.post(fake.url("/api/v2/jobs/"), json=job())
    assert created.status_code == 201, created.text
    assert created.json()["jobanalyses"][0]["analysis"]["name"] == "My Solver"
    assert "my_solver" in codes(fake, api, "analyses") and "ruby" in codes(fake, api, "coretypes")
    ruby = [c for c in api.get(fake.url("/api/v3/coretypes/"), params={"page_size": 100}).json()["results"]
            if c["code"] == "ruby"][0]
    assert ruby["gpuCounts"] == [0, 0, 1]
    prices = api.get(fake.url("/api/v2/billing/computeprices/")).json()
    assert {p["planType"] for p in prices if p["coreType"] == "ruby"} == {"2019-on-demand", "2019-on-demand-pro"}
    assert api.post(fake.url("/api/v2/jobs/"), json=job(cores=3)).status_code == 400  # ruby's cores still hold


def test_a_tenants_additions_are_its_own(fake: Fake, api: requests.Session) -> None:
    fake.control.add_catalog(MY_SOLVER)
    other = requests.Session()
    other.headers["Authorization"] = "Token " + fake.control.create_tenant()["apiKey"]
    assert other.post(fake.url("/api/v2/jobs/"), json=job()).status_code == 400
    assert "my_solver" not in {a["code"] for a in other.get(fake.url("/api/v2/analyses/"),
                                                             params={"page_size": 1000}).json()["results"]}


def test_bad_entries_are_400_and_change_nothing(fake: Fake) -> None:
    before = requests.get(fake.url("/_fake/catalog/"), headers=fake.headers, timeout=30).json()
    for bad in ({"analyses": [{"code": ""}]}, {"coreTypes": [{"code": "x", "cores": [0]}]},
                {"analyses": [{"code": "a", "versions": [{}]}]}, {"coreTypes": "nope"}, [1]):
        response = requests.post(fake.url("/_fake/catalog/"), json=bad, headers=fake.headers, timeout=30)
        assert response.status_code == 400, bad
    assert requests.get(fake.url("/_fake/catalog/"), headers=fake.headers, timeout=30).json() == before


def test_lenient_mode_accepts_well_formed_codes_and_lists_them(fake: Fake, api: requests.Session) -> None:
    assert fake.control.settings(catalogMode="lenient")["catalogMode"] == "lenient"
    created = api.post(fake.url("/api/v3/jobs/"), json=job("star_ccm_plus_x", "19.04.009-R8", "emerald_2", 12))
    assert created.status_code == 201, created.text
    analysis = created.json()["jobanalyses"][0]
    assert analysis["analysis"]["version"] == "19.04.009-R8"
    assert analysis["hardware"]["coreType"] == {"code": "emerald_2"}
    assert "star_ccm_plus_x" in codes(fake, api, "analyses") and "emerald_2" in codes(fake, api, "coretypes")
    v3 = api.get(fake.url("/api/v3/analyses/"), params={"page_size": 1000}).json()["results"]
    (learned,) = [a for a in v3 if a["code"] == "star_ccm_plus_x"]
    assert [v["versionCode"] for v in learned["versions"]] == ["19.04.009-R8"] and learned["versions"][0]["id"]
    # a new version of a known analysis is accepted too; malformed codes are still refused
    assert api.post(fake.url("/api/v2/jobs/"), json=job("openfoam", "12-openmpi", "granite", 2)).status_code == 201
    bad = api.post(fake.url("/api/v2/jobs/"), json=job("bad code!", "1", "granite", 2))
    assert bad.status_code == 400 and "analysis" in bad.json()["jobanalyses"][0]
    submitted = api.post(fake.url(f"/api/v3/jobs/{created.json()['id']}/submit/"))
    assert submitted.status_code == 200


def test_a_refused_job_teaches_the_catalog_nothing(fake: Fake, api: requests.Session) -> None:
    fake.control.settings(catalogMode="lenient")
    body = job("learned_nothing", "1", "granite", 2)
    body["jobanalyses"][0]["inputFiles"] = [{"id": "missing"}]
    assert api.post(fake.url("/api/v2/jobs/"), json=body).status_code == 400
    assert "learned_nothing" not in codes(fake, api, "analyses")


@pytest.mark.rescale_catalog(MY_SOLVER)
def test_the_marker_adds_entries(fake: Fake, api: requests.Session) -> None:
    assert api.post(fake.url("/api/v2/jobs/"), json=job()).status_code == 201
    assert fake.control.settings()["catalogMode"] == "strict"  # the fixtures' mode unless a test picks another


@pytest.mark.rescale_catalog(mode="lenient")
def test_the_marker_picks_the_mode(fake: Fake, api: requests.Session) -> None:
    assert api.post(fake.url("/api/v2/jobs/"), json=job("anything", "7", "anycore", 4)).status_code == 201


# -- rescale-mock serve --catalog ----------------------------------------------------------------------------------
def test_serve_with_a_catalog_file(tmp_path: Path) -> None:
    catalog = tmp_path / "workspace.yaml"
    catalog.write_text("analyses:\n  - code: my_solver\n    versions:\n      - versionCode: '2.1'\n"
                       "coreTypes:\n  - code: ruby\n    cores: [1, 2, 4]\n"
                       "computePrices:\n  - {coreType: ruby, planType: 2019-on-demand, value: {amount: '0.0420'}}\n")
    process = ServedProcess(tmp_path / "data", ("catalog-key-000001",), "--catalog", str(catalog),
                            "--catalog-mode", "strict", "--validate-responses")
    try:
        headers = {"Authorization": "Token catalog-key-000001"}
        created = requests.post(f"{process.base_url}/api/v2/jobs/", json=job(), headers=headers, timeout=30)
        assert created.status_code == 201, created.text
        prices = requests.get(f"{process.base_url}/api/v2/billing/computeprices/", headers=headers, timeout=30).json()
        (ruby,) = [p for p in prices if p["coreType"] == "ruby"]
        assert ruby["planName"] == "pay-as-you-go-on-demand" and ruby["value"] == {"amount": "0.0420", "currency": "USD"}
    finally:
        process.close()


def test_serve_refuses_a_bad_catalog_file(tmp_path: Path) -> None:
    catalog = tmp_path / "bad.json"
    catalog.write_text(json.dumps({"coreTypes": [{"code": "ruby", "cores": "many"}]}))
    result = subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", "--port", "0", "--data-dir",
                             str(tmp_path / "d"), "--catalog", str(catalog)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "coreTypes/0/cores" in result.stderr


def test_gpu_counts_stay_parallel_to_cores(fake: Fake, api: requests.Session) -> None:
    fake.control.add_catalog({"coreTypes": [{"code": "short", "cores": [1, 2, 4], "gpuCounts": [1]},
                                            {"code": "long", "cores": [1], "gpuCounts": [0, 1, 2]}]})
    page = api.get(fake.url("/api/v2/coretypes/"), params={"page_size": 100}).json()["results"]
    counts = {c["code"]: c["gpuCounts"] for c in page}
    assert counts["short"] == [1, 1, 1] and counts["long"] == [0]


@pytest.mark.parametrize("raw", ['{"analyses": [{"code": "a", "name": "\\ud800"}]}',
                                 '{"analyses": ' + "[" * 3000 + "]" * 3000 + "}"])
def test_lone_surrogates_and_deep_nesting_are_400(fake: Fake, raw: str) -> None:
    for path in ("/_fake/catalog/", "/api/v2/storage-devices/", "/api/v3/jobs/"):
        response = requests.post(fake.url(path), data=raw.encode(), timeout=30,
                                 headers={**fake.headers, "Content-Type": "application/json"})
        assert response.status_code == 400
        if "ud800" in raw:  # mockserver/jsonbody.py: a field error where the lone surrogate is
            assert response.json() == {"analyses": [{"name": [BAD_TEXT]}]}
        else:
            assert response.json()["detail"].startswith("JSON parse error")
    assert fake.control.add_catalog({}) == requests.get(fake.url("/_fake/catalog/"), headers=fake.headers,
                                                        timeout=30).json()  # nothing was added


@pytest.mark.rescale_catalog(mode="lenient")
def test_a_lenient_catalog_takes_a_sweep_on_an_unknown_analysis(fake: Fake, api: requests.Session) -> None:
    body = doe_body(doe_files(fake))
    body["jobanalyses"][0]["analysis"] = {"code": "openfoam_custom", "version": "2306"}
    created = api.post(fake.url("/api/v2/jobs/"), json=body)
    assert created.status_code == 201, created.text
    assert created.json()["expectedRuns"] == 5
    analyses = api.get(fake.url("/api/v2/analyses/"), params={"page_size": 1000}).json()["results"]
    assert any(a["code"] == "openfoam_custom" for a in analyses)
