"""rescale_mock: an offline, faithful fake of the Rescale REST API (v2 and v3)."""
from __future__ import annotations

from .app import create_app
from .config import DEMO_KEY, Config
from .version import __version__

__all__ = ["Config", "DEMO_KEY", "create_app", "__version__"]
