"""The user's real catalog from recordings: core types, analyses and compute prices as the platform listed them,
in the shape of `data/catalog.json`, so `rescale-mock serve --catalog-from DIR` serves them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..domain.catalog import builtin_catalog
from .recording import body_bytes, read_recordings

# operationId -> catalog key; v2 listings win over v3 ones for the same code (catalog.json holds the v2 shape)
CATALOG_OPERATIONS = {"listCoreTypes": "coreTypes", "listAnalyses": "analyses", "listComputePrices": "computePrices",
                      "listCoreTypesV3": "coreTypes", "listAnalysesV3": "analyses"}
V2 = {"listCoreTypes", "listAnalyses", "listComputePrices"}


def _identity(key: str, item: dict[str, Any]) -> str:
    if key == "computePrices":
        return json.dumps([item.get(k) for k in ("coreType", "planType", "planName", "os")])
    return str(item.get("code"))


def catalog_from_recordings(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """The catalog entries found in recorded 200 answers, by key (`coreTypes`, `analyses`, `computePrices`);
    a key nothing was recorded for is absent."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for exchange in read_recordings(directory):
        operation, response = exchange.get("operationId"), exchange["response"]
        key = CATALOG_OPERATIONS.get(operation or "")
        body = body_bytes(response)
        if key is None or response.get("status") != 200 or not body:
            continue
        try:
            payload = json.loads(body)
        except ValueError:
            continue
        items = payload.get("results", []) if isinstance(payload, dict) else payload
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                entries = found.setdefault(key, {})
                ident = _identity(key, item)
                if operation in V2 or ident not in entries:
                    entries[ident] = item
    return {key: list(entries.values()) for key, entries in found.items()}


def merge_catalog(base: dict[str, Any], overlay: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """`base` with each list that `overlay` has replaced by it; an entry lacking a field the fake needs takes it
    from the base's first entry of that list (and a display order from its position). When only core types were
    recorded, the base's analyses allow them (their own lists name the base's core types)."""
    merged = dict(base)
    for key, entries in overlay.items():
        template = (base.get(key) or [{}])[0]
        merged[key] = [{**template, **({"displayOrder": index + 1} if key == "coreTypes" else {}), **entry}
                       for index, entry in enumerate(entries)]
    if "coreTypes" in overlay and "analyses" not in overlay:
        codes = [c["code"] for c in merged["coreTypes"]]
        merged["analyses"] = [{**a, "versions": [{**v, "allowedCoreTypes": codes} for v in a.get("versions", [])]}
                              for a in base.get("analyses", [])]
    return merged


def serve_catalog(directory: Path) -> dict[str, Any]:
    """The bundled catalog with the recorded lists in place of its own (for `serve --catalog-from DIR`)."""
    overlay = catalog_from_recordings(directory)
    if not overlay:
        raise SystemExit(f"rescale-mock: no recorded core types, analyses or prices under {directory}")
    return merge_catalog(builtin_catalog(), overlay)
