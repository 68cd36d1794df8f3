"""Errors as Rescale (a Django REST Framework service) writes them: `{"detail": ...}` or field dictionaries."""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error with a Rescale-style JSON body; raised anywhere below a handler, rendered in one place."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, text: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, {"detail": text}, headers)


NOT_FOUND = "Not found."
INVALID_PAGE = "Invalid page."
NO_CREDENTIALS = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."


def not_found() -> ApiError:
    return detail(404, NOT_FOUND)


def unauthorized(text: str) -> ApiError:
    # DRF's TokenAuthentication answers 401 with this challenge.
    return detail(401, text, {"WWW-Authenticate": "Token"})
