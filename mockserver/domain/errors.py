"""What the domain can refuse, with no HTTP in it; `mockserver/app.py` maps each to a status code."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    pass


class NotFound(DomainError):
    """The object does not exist for this tenant (another tenant's object does not exist either)."""


class InvalidInput(DomainError):
    """Field errors in DRF shape, e.g. {"name": ["This field is required."]}."""

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__(str(fields))
        self.fields = fields


class NotAllowed(DomainError):
    """The request is well formed but the object's state refuses it (Rescale answers 400 with a detail)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Conflict(DomainError):
    """The object already exists (409)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
