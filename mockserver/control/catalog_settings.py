"""Control-plane handlers for the behaviour settings, the catalog a tenant (or the server) extends, and storage
device scenarios."""
from __future__ import annotations

from typing import Any

from ..call import Call, Handler, registrar
from ..domain.errors import NotFound
from ..views import CatalogSummaryView

OPERATIONS: dict[str, Handler] = {}
control = registrar(OPERATIONS)


@control("getSettings")
def get_settings(call: Call) -> dict[str, Any]:
    return call.backend.settings.view(call.tenant)


@control("updateSettings")
def update_settings(call: Call) -> dict[str, Any]:
    return call.backend.settings.change(call.tenant, call.body or {})


@control("getCatalogSummary")
def get_catalog_summary(call: Call) -> CatalogSummaryView:
    return CatalogSummaryView(call.backend.catalogs.for_tenant(call.tenant))


@control("addCatalogEntries")
def add_catalog_entries(call: Call) -> CatalogSummaryView:
    return CatalogSummaryView(call.backend.catalogs.add(call.tenant, call.body))


@control("setStorageDeviceScenario")
def set_storage_device_scenario(call: Call) -> dict[str, Any]:
    if call.tenant is None:  # a device id is only unique with its tenant's key
        raise NotFound("storage device")
    scenario = {"outcome": call.body["outcome"]}
    call.backend.devices.set_scenario(call.tenant, call.params["device_id"], scenario)
    return scenario
