"""Behaviour switches where Rescale's behaviour changed or is unknown, per tenant with server-wide defaults.

The names and allowed values are the control plane's `Settings` schema (openapi/control.yaml); this module only
keeps the values: a tenant's own in its settings, the server's from `rescale-mock serve` flags, changed at run time
by a control call without a token (kept in the store, so every server process sees the change).
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
        self._started = {**DEFAULTS, **{k: v for k, v in (server or {}).items() if v is not None}}

    @property
    def server(self) -> dict[str, Any]:
        """The server's values: its flags', with the changes made at run time."""
        return {**self._started, **(self.tenants.server.get("modes") or {})}

    def get(self, tenant: Tenant | None, name: str) -> Any:
        own = tenant.settings.get("modes", {}) if tenant is not None else {}
        return own[name] if name in own else self.server[name]

    def view(self, tenant: Tenant | None) -> dict[str, Any]:
        own = tenant.settings.get("modes", {}) if tenant is not None else {}
        return {**self.server, **{k: v for k, v in own.items() if k in self._started}}

    def change(self, tenant: Tenant | None, changes: dict[str, Any]) -> dict[str, Any]:
        """With a tenant: that tenant's values; without: the server's (tenants that set their own keep them)."""
        known = {k: v for k, v in changes.items() if k in self._started}
        if tenant is None:
            self.tenants.server.modify("modes", lambda old: {**(old or {}), **known})
        else:
            self.tenants.modify_settings(tenant, lambda stored: {**stored,
                                                                 "modes": {**stored.get("modes", {}), **known}})
        return self.view(tenant)
