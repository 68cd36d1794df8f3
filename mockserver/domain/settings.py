"""Behaviour switches where Rescale's behaviour changed or is unknown, per tenant with server-wide defaults.

The names and allowed values are the control plane's `Settings` schema (openapi/control.yaml); this module only
keeps the values: a tenant's own in its settings, the server's from `rescale-mock serve` flags or a control call
without a token.
"""
from __future__ import annotations

from typing import Any

from .tenants import Tenant, Tenants

# What the fake does when nobody chose (each is documented on the `Settings` schema).
DEFAULTS: dict[str, Any] = {
    "catalogMode": "strict",  # unknown analyses and core types are refused
    "finishedJobChanges": "refuse",  # re-submit / PATCH of a finished job: 400 (the notebook's announced change)
    "v2CoreType": "string",  # v2 job reads give hardware.coreType as a code
}


class Settings:
    def __init__(self, tenants: Tenants, server: dict[str, Any] | None = None) -> None:
        self.tenants = tenants
        self.server: dict[str, Any] = {**DEFAULTS, **{k: v for k, v in (server or {}).items() if v is not None}}

    def get(self, tenant: Tenant | None, name: str) -> Any:
        own = tenant.settings.get("modes", {}) if tenant is not None else {}
        return own.get(name, self.server[name])

    def view(self, tenant: Tenant | None) -> dict[str, Any]:
        return {name: self.get(tenant, name) for name in self.server}

    def change(self, tenant: Tenant | None, changes: dict[str, Any]) -> dict[str, Any]:
        """With a tenant: that tenant's values; without: the server's (tenants that set their own keep them)."""
        known = {k: v for k, v in changes.items() if k in self.server}
        if tenant is None:
            self.server.update(known)
        else:
            modes = {**tenant.settings.get("modes", {}), **known}
            self.tenants.save_settings(tenant, {**tenant.settings, "modes": modes})
        return self.view(tenant)
