from __future__ import annotations

from typing import Any

from ..call import Call, Handler, registrar
from ..pagination import from_list

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


@operation("getApiRoot")
def api_root(call: Call) -> dict[str, str]:
    base = f"{call.host_url}api/v2/"
    names = ("analyses", "billing/computeprices", "coretypes", "files", "jobs", "users/me")
    return {name.split("/")[0]: f"{base}{name}/" for name in names}


@operation("getCurrentUser", "getCurrentUserV3")
def current_user(call: Call) -> dict[str, Any]:
    return call.backend.tenants.user(call.tenant, call.backend.catalogs.for_tenant(call.tenant))


@operation("listProjects", "listProjectsV3")
def list_projects(call: Call) -> dict[str, Any]:
    return call.page(from_list(call.backend.catalogs.for_tenant(call.tenant).projects))
