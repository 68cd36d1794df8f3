"""`rescale-mock serve` options for the catalog and the behaviour settings. The choices come from the control
plane's `Settings` schema, so they are written once."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .spec import load_document

SETTING_FLAGS = {"catalogMode": "--catalog-mode", "finishedJobChanges": "--finished-job-changes",
                 "v2CoreType": "--v2-core-type"}


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--catalog", action="append", default=[], type=Path, dest="catalog_files", metavar="FILE",
                       help="YAML or JSON catalog (coreTypes, analyses with versions, computePrices, projects) "
                            "merged over the built-in one (repeatable)")
    schema = load_document("control.yaml")["components"]["schemas"]["Settings"]["properties"]
    for name, flag in SETTING_FLAGS.items():
        serve.add_argument(flag, choices=schema[name]["enum"], default=None, dest=f"setting_{name}",
                           help=f"default {schema[name]['default']}; see Settings in openapi/control.yaml")


def config_options(args: argparse.Namespace, recorded: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """The Config fields these options set; `recorded` are overlays laid first (`--catalog-from`). A bad file is a
    ValueError naming it (read here, so the command stops with a message rather than a traceback)."""
    from .backend import checked_catalog_file

    settings = {name: getattr(args, f"setting_{name}", None) for name in SETTING_FLAGS}
    catalogs = tuple(checked_catalog_file(path) for path in getattr(args, "catalog_files", ()))
    return {"catalogs": (*recorded, *catalogs), "settings": {k: v for k, v in settings.items() if v is not None}}
