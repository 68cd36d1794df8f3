"""Which catalog a tenant sees: the built-in one with the server's overlays (`--catalog`), plus what the tenant
added at run time (the control plane, or jobs in the lenient catalog mode). Each overlay is a dict in the shape of
data/catalog.json, merged by `merge_catalogs`."""
from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Iterable

from .catalog import Catalog, builtin_catalog, merge_catalogs
from .jobspec import JobSpecs
from .settings import Settings
from .tenants import Tenant, Tenants


class Catalogs:
    def __init__(self, tenants: Tenants, settings: Settings, overlays: Iterable[dict[str, Any]] = ()) -> None:
        self.tenants, self.settings = tenants, settings
        self.base_raw = merge_catalogs(builtin_catalog(), *overlays)
        self.base = Catalog(self.base_raw)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, int], Catalog] = {}
        self._versions = itertools.count(int(time.time() * 1000))  # unique across restarts too

    def for_tenant(self, tenant: Tenant | None) -> Catalog:
        own = tenant.settings.get("catalog") if tenant is not None else None
        if not own:
            return self.base
        key = (tenant.id, tenant.settings.get("catalogVersion", 0))  # type: ignore[union-attr]
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
        a tenant, the server's."""
        with self._lock:
            if tenant is None:
                self.base_raw = merge_catalogs(self.base_raw, overlay)
                self.base = Catalog(self.base_raw)
                self._cache.clear()
                return self.base
            own = merge_catalogs({section: [] for section in ("coreTypes", "analyses", "computePrices", "projects")} |
                                 tenant.settings.get("catalog", {}), overlay)
            self.tenants.save_settings(tenant, {**tenant.settings, "catalog": own,
                                                "catalogVersion": next(self._versions)})  # never reused
        return self.for_tenant(tenant)

    def own_entries(self, tenant: Tenant | None) -> dict[str, Any]:
        return (tenant.settings.get("catalog") if tenant is not None else None) or {}

    def specs(self, tenant: Tenant) -> JobSpecs:
        """Job definitions checked against the tenant's catalog; in the lenient mode, unknown well-formed codes
        are accepted and added to it."""
        lenient = self.settings.get(tenant, "catalogMode") == "lenient"
        return JobSpecs(self.for_tenant(tenant), lenient=lenient, learn=lambda entries: self.add(tenant, entries))
