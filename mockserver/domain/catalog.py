"""The read-only catalog: core types, analyses, compute prices, and the user/project template of a tenant."""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from .ids import stable_id



class Catalog:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.core_types: list[dict[str, Any]] = sorted(raw["coreTypes"], key=lambda c: c["displayOrder"])
        self.analyses: list[dict[str, Any]] = raw["analyses"]
        self.compute_prices: list[dict[str, Any]] = raw["computePrices"]
        self.user_template: dict[str, Any] = raw["user"]
        self.projects: list[dict[str, Any]] = raw["projects"]
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


def builtin_catalog() -> dict[str, Any]:
    """The built-in catalog as raw entries, shipped as package data of `rescale_mock`."""
    return json.loads(resources.files("rescale_mock").joinpath("data/catalog.json").read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    return Catalog(builtin_catalog())
