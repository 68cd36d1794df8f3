"""rescale_mock: an offline, faithful fake of the Rescale REST API (v2 and v3)."""
from __future__ import annotations

__version__ = "0.1.0"

from .app import create_app  # noqa: E402
from .config import DEMO_KEY, Config  # noqa: E402

__all__ = ["Config", "DEMO_KEY", "create_app", "__version__"]
