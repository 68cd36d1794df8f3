"""operationId -> handler. Handlers are thin: read the validated call, call the domain, return what to shape."""
from __future__ import annotations

from typing import Callable

from ..dispatch import Call, Handler
from ..views import Context

HANDLERS: dict[str, Handler] = {}


def registrar(table: dict[str, Handler]) -> Callable[..., Callable[[Handler], Handler]]:
    """A decorator factory that files handlers under their operationIds in `table`."""

    def operation(*operation_ids: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for operation_id in operation_ids:
                table[operation_id] = handler
            return handler

        return register

    return operation


operation = registrar(HANDLERS)


def view_context(call: Call) -> Context:
    backend = call.backend
    return Context(call.tenant, call.host_url, backend.config.date_style, backend.catalog.user_template["defaultStorage"],
                   lambda *ids: backend.shares.of(call.tenant, *ids))
