"""Which catalog a tenant sees: the built-in one with the server's overlays (`--catalog`), plus what the tenant
added at run time (the control plane, or jobs in the lenient catalog mode). Each overlay is a dict in the shape of
data/catalog.json, merged by `merge_catalogs`."""
from __future__ import annotations

import threading
import uuid
from typing import Any, Iterable

from .catalog import Catalog, builtin_catalog, merge_catalogs
from .jobspec import JobSpecs
from .settings import Settings
from .tenants import Tenant, Tenants


SERVER_ADDITIONS = "catalogAdditions"  # server-wide entries added at run time, in the store: {version, overlays}
_SECTIONS = ("coreTypes", "analyses", "computePrices", "projects")


class Catalogs:
    """The merged catalogs are caches (safe to lose, rebuilt per process): the additions they are built from live in
    the store, each with a version that names it, so a cache is checked with one small read."""

    def __init__(self, tenants: Tenants, settings: Settings, overlays: Iterable[dict[str, Any]] = ()) -> None:
        self.tenants, self.settings = tenants, settings
        self._started_raw = merge_catalogs(builtin_catalog(), *overlays)  # the built-in one with `--catalog`s
        self.base_raw, self.base = self._started_raw, Catalog(self._started_raw)
        self._base_version: str | None = None
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, Any], Catalog] = {}

    def server_catalog(self) -> Catalog:
        """The server's catalog as it stands (with what was added at run time, by any process)."""
        added = self.tenants.server.get(SERVER_ADDITIONS) or {"version": None, "overlays": []}
        with self._lock:
            if added["version"] != self._base_version:
                self.base_raw = merge_catalogs(self._started_raw, *added["overlays"])
                self.base, self._base_version = Catalog(self.base_raw), added["version"]
                self._cache.clear()
            return self.base

    def for_tenant(self, tenant: Tenant | None) -> Catalog:
        base = self.server_catalog()
        own = tenant.settings.get("catalog") if tenant is not None else None
        if not own:
            return base
        key = (tenant.id, self._base_version or "", tenant.settings.get("catalogVersion", 0))  # type: ignore[union-attr]
        with self._lock:
            catalog = self._cache.get(key)
            if catalog is None:
                catalog = Catalog(merge_catalogs(self.base_raw, own))
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[key] = catalog
        return catalog

    def add(self, tenant: Tenant | None, overlay: dict[str, Any]) -> Catalog:
        """Merge entries (already checked against the `CatalogOverlay` schema) into the tenant's catalog or, without
        a tenant, the server's. A new version (random, never reused by any process) names each change."""
        version = uuid.uuid4().hex
        if tenant is None:
            self.tenants.server.modify(SERVER_ADDITIONS, lambda old: {
                "version": version, "overlays": [*(old or {"overlays": []})["overlays"], overlay]})
            return self.server_catalog()

        def merged(stored: dict[str, Any]) -> dict[str, Any]:
            own = merge_catalogs({section: [] for section in _SECTIONS} | stored.get("catalog", {}), overlay)
            return {**stored, "catalog": own, "catalogVersion": version}

        self.tenants.modify_settings(tenant, merged)
        return self.for_tenant(tenant)

    def specs(self, tenant: Tenant) -> JobSpecs:
        """Job definitions checked against the tenant's catalog; in the lenient mode, unknown well-formed codes
        are accepted and added to it."""
        lenient = self.settings.get(tenant, "catalogMode") == "lenient"
        return JobSpecs(self.for_tenant(tenant), lenient=lenient, learn=lambda entries: self.add(tenant, entries))
