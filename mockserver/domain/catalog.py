"""The catalog: core types, analyses, compute prices, and the user/project template of a tenant.

A catalog is a dict in the shape of `data/catalog.json`. The built-in one can be extended: `merge_catalogs` lays
catalogs (a `--catalog` file, a recorded workspace, a tenant's run-time additions) over it, entry by entry, and
`complete_*` fill what a partial entry leaves out with plausible values, so users may write only codes and versions.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from .ids import stable_id

SECTIONS = ("coreTypes", "analyses", "computePrices", "projects")
DEFAULT_CORES = [1, 2, 4, 8, 16, 32, 64]
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$")  # a well-formed analysis or core type code
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+ -]{0,99}$")


def _price_key(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return entry.get("coreType"), entry.get("planType"), entry.get("os", "linux")


# entries are checked (CatalogOverlay) or recorded from the platform's answers: a key left out is None, not a crash
KEYS = {"coreTypes": lambda e: e.get("code"), "analyses": lambda e: e.get("code"), "computePrices": _price_key,
        "projects": lambda e: e.get("id")}


def _merge_versions(base: list[dict[str, Any]], overlay: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Versions by versionCode; new ones go first (the latest is `versions[0]`)."""
    def code(v: dict[str, Any]) -> str:
        return str(v.get("versionCode") or v.get("version"))
    known = {code(v): v for v in base}
    fresh = [v for v in overlay if code(v) not in known]
    updated = [{**v, **next((o for o in overlay if code(o) == code(v)), {})} for v in base]
    return fresh + updated


def merge_catalogs(base: dict[str, Any], *overlays: dict[str, Any]) -> dict[str, Any]:
    """`base` with each overlay laid over it: entries with the same key are updated (an analysis' versions merged),
    new entries appended; `user` is updated key by key. Nothing is completed here (see `Catalog`).

    An overlay may name sections it replaces rather than extends under `"replace"` (the platform's own lists,
    recorded by `proxy --record`, served by `serve --catalog-from`). When it replaces the core types but not the
    analyses, the analyses kept forget their `allowedCoreTypes`, so they allow every core type left."""
    merged = copy.deepcopy(base)
    for overlay in overlays:
        replaced = set(overlay.get("replace") or ())
        if "coreTypes" in replaced and "analyses" not in replaced:
            for analysis in merged.get("analyses", []):
                analysis["versions"] = [{k: v for k, v in version.items() if k != "allowedCoreTypes"}
                                        for version in analysis.get("versions", [])]
        for section in SECTIONS:
            if section in replaced:
                merged[section] = []
            items = merged.setdefault(section, [])
            index = {KEYS[section](e): i for i, e in enumerate(items)}
            for entry in overlay.get(section) or []:
                key = KEYS[section](entry)
                if key not in index:
                    index[key] = len(items)
                    items.append(copy.deepcopy(entry))
                    continue
                old = items[index[key]]
                new = {**old, **copy.deepcopy(entry)}
                if section == "analyses":
                    new["versions"] = _merge_versions(old.get("versions", []), entry.get("versions") or [])
                items[index[key]] = new
        if overlay.get("user"):
            merged["user"] = {**merged.get("user", {}), **overlay["user"]}
        if overlay.get("plans"):
            merged["plans"] = overlay["plans"]
    return merged


def complete_core_type(entry: dict[str, Any], order: int = 1000) -> dict[str, Any]:
    cores = entry.get("cores") or DEFAULT_CORES
    return {
        "name": entry["code"], "description": "", "displayOrder": order, "isPrimary": False, "isDeprecated": False,
        "isActive": True, "hasSsd": True, "compute": "1.00", "price": 0.1, "lowPriorityPrice": "0.050",
        "walltimeRequired": False, "remoteVizAllowed": False, "storage": 40, "memory": 4000, "io": "Standard",
        "storageIo": "Standard", "processorInfo": "", "categoryCodes": ["general"],
        **entry, "cores": cores, "gpuCounts": _parallel(entry.get("gpuCounts") or [], len(cores)),
    }


def _parallel(counts: list[int], size: int) -> list[int]:
    """`gpuCounts` is parallel to `cores`: a shorter list is padded with its last count (or 0), a longer one cut."""
    return (counts + [counts[-1] if counts else 0] * size)[:size]


def complete_version(entry: dict[str, Any], core_codes: list[str]) -> dict[str, Any]:
    code = str(entry.get("versionCode") or entry.get("version"))
    return {"version": code, "allowedCoreTypes": core_codes, "stdCommand": "", "mpiCommand": "", "smpCommand": "",
            "eula": None, **entry, "versionCode": code}


def complete_analysis(entry: dict[str, Any], core_codes: list[str]) -> dict[str, Any]:
    return {
        "name": entry["code"], "description": "", "vendorName": "", "pricing": "", "category": "Other",
        "thumbnail": "", "industries": [], "supportDesks": [], "hasRescaleLicense": False,
        "hasShortTermLicense": False, "licenseSettings": [], "optimizerType": None, "resources": [],
        **entry, "versions": [complete_version(v, core_codes) for v in entry.get("versions") or []],
    }


def _prices_for(core_type: dict[str, Any], plans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Plausible Linux prices of a core type that has none, one per plan, from the core type's own price fields."""
    return [{"coreType": core_type["code"], "planName": plan["planName"], "planType": plan["planType"], "os": "linux",
             "isActive": True, "value": {"amount": f"{float(core_type[plan['priceField']]):.4f}", "currency": "USD"}}
            for plan in plans]


def _complete_price(entry: dict[str, Any], plans: list[dict[str, Any]]) -> dict[str, Any]:
    name = next((p["planName"] for p in plans if p["planType"] == entry["planType"]), entry["planType"])
    value = entry.get("value") or {}
    return {"planName": name, "os": "linux", "isActive": True, **entry,
            "value": {"currency": "USD", **value, "amount": str(value.get("amount", "0.1000"))}}


class Catalog:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.plans: list[dict[str, Any]] = raw.get("plans", [])
        core_types = [complete_core_type(c, 1000 + i) for i, c in enumerate(raw["coreTypes"])]
        self.core_types: list[dict[str, Any]] = sorted(core_types, key=lambda c: c["displayOrder"])
        codes = [c["code"] for c in self.core_types]
        self.analyses: list[dict[str, Any]] = [complete_analysis(a, codes) for a in raw["analyses"]]
        prices = [_complete_price(p, self.plans) for p in raw["computePrices"]]
        priced = {p["coreType"] for p in prices}
        self.compute_prices: list[dict[str, Any]] = prices + [
            price for c in self.core_types if c["code"] not in priced for price in _prices_for(c, self.plans)]
        self.projects: list[dict[str, Any]] = [{"isDefault": False, **p} for p in raw["projects"]]
        self.user_template: dict[str, Any] = {
            **raw["user"], "company": {**raw["user"]["company"],
                                       "projects": [{"id": p["id"], "name": p["name"]} for p in self.projects]}}
        self._core_types = {c["code"]: c for c in self.core_types}
        self._analyses = {a["code"]: a for a in self.analyses}

    def core_type(self, code: str) -> dict[str, Any] | None:
        return self._core_types.get(code)

    def analysis(self, code: str) -> dict[str, Any] | None:
        return self._analyses.get(code)

    def analysis_version(self, code: str, version: str) -> dict[str, Any] | None:
        """Look a version up by its versionCode (what job requests send), falling back to the display version."""
        analysis = self.analysis(code) or {}
        versions = analysis.get("versions", [])
        return next((v for v in versions if v["versionCode"] == version), None) or next(
            (v for v in versions if v["version"] == version), None
        )

    def project_ids(self) -> set[str]:
        return {p["id"] for p in self.projects}

    def core_types_page(self, is_active: bool | None) -> list[dict[str, Any]]:
        return [c for c in self.core_types if is_active is None or c["isActive"] == is_active]

    def analyses_v3(self) -> list[dict[str, Any]]:
        """v3 analyses carry an id on each version; derive a stable one from the codes."""
        return [
            {**a, "versions": [{**v, "id": stable_id(a["code"], v["versionCode"])} for v in a["versions"]]}
            for a in self.analyses
        ]


def read_catalog_file(path: Path | str) -> Any:
    """A user's catalog file, YAML or JSON (JSON is YAML), in the shape of data/catalog.json; any section may be
    left out. The caller checks it against the control plane's `CatalogOverlay` schema."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read catalog {path}: {err}") from None


def is_code(value: Any) -> bool:
    return isinstance(value, str) and bool(CODE.match(value))


def is_version(value: Any) -> bool:
    return isinstance(value, str) and bool(VERSION.match(value))


@functools.lru_cache(maxsize=1)
def _builtin_text() -> str:
    return resources.files("rescale_mock").joinpath("data/catalog.json").read_text("utf-8")


def builtin_catalog() -> dict[str, Any]:
    """The built-in catalog as raw entries (a fresh copy), shipped as package data of `rescale_mock`."""
    return json.loads(_builtin_text())


def load_catalog(overlays: Iterable[dict[str, Any]] = ()) -> Catalog:
    return Catalog(merge_catalogs(builtin_catalog(), *overlays))
