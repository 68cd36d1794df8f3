"""Proving the fake against the real platform: a validating proxy (`forward.py`) that checks every real exchange
against the spec (`validate.py`) into a drift report (`report.py`) and records it anonymized (`anonymize.py`,
`recording.py`); replay of recordings (`replay.py`), their offline re-check (`offline.py`) and the recorded catalog
for `serve --catalog-from` (`catalog_from.py`). CLI commands: `commands.py`."""
from .commands import register, serve_catalogs

__all__ = ["register", "serve_catalogs"]
