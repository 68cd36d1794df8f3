from __future__ import annotations

from typing import Any

from ..call import Call, Handler, registrar
from ..pagination import from_list

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


def _flag(value: Any) -> bool | None:
    return None if value is None else str(value).lower() == "true"


@operation("listCoreTypes", "listCoreTypesV3")
def list_core_types(call: Call) -> dict[str, Any]:
    # The v3 schema leaves out price, lowPriorityPrice and walltimeRequired; the serializer drops them.
    return call.page(from_list(call.backend.catalogs.for_tenant(call.tenant).core_types_page(_flag(call.params.get("isActive")))))


@operation("listAnalyses")
def list_analyses(call: Call) -> dict[str, Any]:
    return call.page(from_list(call.backend.catalogs.for_tenant(call.tenant).analyses))


@operation("listAnalysesV3")
def list_analyses_v3(call: Call) -> dict[str, Any]:
    return call.page(from_list(call.backend.catalogs.for_tenant(call.tenant).analyses_v3()))


@operation("listComputePrices", "listComputePricesV3")
def list_compute_prices(call: Call) -> list[dict[str, Any]]:
    return call.backend.catalogs.for_tenant(call.tenant).compute_prices
