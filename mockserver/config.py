"""Server configuration: one object, built by the CLI, the pytest plugin or a test."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEMO_KEY = "demo-key-0123456789abcdef0123456789abcdef"


@dataclass
class Config:
    data_dir: Path | None = None  # None: a temporary folder removed on close (tests)
    api_keys: tuple[str, ...] = ()  # each key is an isolated tenant
    accept_any_key: bool = False  # any well-formed key becomes a tenant on first use
    validate_responses: bool = False  # test mode: every response is checked against the spec
    clock_mode: str = "scaled"
    clock_factor: float = 60.0
    date_style: str = "mixed"  # see timefmt.py
    seed: int | None = None  # ids and scenarios repeat for the same seed
    journal_size: int = 1000
    catalogs: tuple[dict, ...] = ()  # catalog overlays (data/catalog.json shape) laid over the built-in catalog
    catalog_files: tuple[Path, ...] = ()  # the same from YAML or JSON files (`--catalog`)
    settings: dict = field(default_factory=dict)  # server-wide behaviour settings (domain/settings.py)
    extra: dict = field(default_factory=dict)
