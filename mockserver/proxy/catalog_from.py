"""The user's real catalog from recordings: core types, analyses and compute prices as the platform listed them,
in the shape of `data/catalog.json`, so `rescale-mock serve --catalog-from DIR` serves them (an overlay that
`domain.catalog.merge_catalogs` lays over the bundled catalog, before any `--catalog` file)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def serve_catalog(directory: Path) -> dict[str, Any]:
    """The recorded lists as a catalog overlay that replaces the bundled lists it has (for `serve --catalog-from
    DIR`; merged with the other overlays by `merge_catalogs`, and completed like any other entry)."""
    overlay = catalog_from_recordings(directory)
    if not overlay:
        raise SystemExit(f"rescale-mock: no recorded core types, analyses or prices under {directory}")
    return {**overlay, "replace": sorted(overlay)}
