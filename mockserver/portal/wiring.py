"""The portal's wiring, kept on the Flask app: a module of its own so the package index and the view modules do not
import each other."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from ..backend import Backend
    from ..dispatch import Dispatcher

EXTENSION = "rescale_mock.portal"


class Wiring:
    """What the portal's views reach: the backend (reads) and the two dispatchers (writes, downloads)."""

    def __init__(self, backend: "Backend", api: "Dispatcher", control: "Dispatcher") -> None:
        self.backend, self.api, self.control = backend, api, control


def wiring() -> Wiring:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
