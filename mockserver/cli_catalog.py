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


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Config fields these options set."""
    from .backend import checked_catalog_file

    settings = {name: getattr(args, f"setting_{name}", None) for name in SETTING_FLAGS}
    try:  # read here, so a bad file stops the command with a message rather than a traceback
        catalogs = tuple(checked_catalog_file(path) for path in getattr(args, "catalog_files", ()))
    except ValueError as err:
        raise SystemExit(f"rescale-mock: {err}") from None
    return {"catalogs": catalogs, "settings": {k: v for k, v in settings.items() if v is not None}}
