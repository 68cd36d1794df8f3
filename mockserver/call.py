"""The handler interface: what a handler receives (`Call`), may return (`Reply`), and how it is filed under its
operationIds. The pipeline (dispatch) builds calls and renders replies; handlers import only this."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from werkzeug.wrappers import Request
from werkzeug.datastructures import MultiDict

from .domain.tenants import Tenant
from .pagination import Fetch, paginate

if TYPE_CHECKING:
    from .backend import Backend
    from .spec import Operation


@dataclass
class Call:
    """Everything a handler may use: the tenant, validated parameters and body; nothing of HTTP beyond URLs."""

    backend: "Backend"
    tenant: Tenant | None
    op: "Operation"
    params: dict[str, Any]
    body: Any
    files: MultiDict
    request: Request = field(repr=False)

    @functools.cached_property
    def url(self) -> str:
        """The absolute request URL (built only when a page needs its `next`/`previous` links)."""
        return self.request.url

    @functools.cached_property
    def host_url(self) -> str:
        return self.request.host_url

    def page(self, fetch: Fetch, max_size: int | None = None) -> dict[str, Any]:
        if max_size is None:
            return paginate(self.url, self.params, self.op.version, fetch)
        return paginate(self.url, self.params, self.op.version, fetch, max_size)


@dataclass
class Reply:
    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Any]


def registrar(table: dict[str, Handler]) -> Callable[..., Callable[[Handler], Handler]]:
    """A decorator factory that files handlers under their operationIds in `table`."""

    def operation(*operation_ids: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for operation_id in operation_ids:
                table[operation_id] = handler
            return handler

        return register

    return operation


def handler_table(*modules: ModuleType) -> dict[str, Handler]:
    """One operationId -> handler table from modules that each file theirs in an `OPERATIONS` table; an
    operationId claimed twice is a mistake, not an override."""
    table: dict[str, Handler] = {}
    for module in modules:
        twice = table.keys() & module.OPERATIONS.keys()
        if twice:
            raise ValueError(f"{module.__name__} handles {sorted(twice)} already handled elsewhere")
        table.update(module.OPERATIONS)
    return table
