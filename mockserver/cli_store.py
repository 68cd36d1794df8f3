"""`rescale-mock serve` options of the store: which database engine keeps the state (see store/engines.py)."""
from __future__ import annotations

import argparse
import os
from typing import Any

DATABASE_ENV = "RESCALE_MOCK_DATABASE"


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--database", default=os.environ.get(DATABASE_ENV) or None, metavar="URL",
                       help="postgresql://... keeps the state in PostgreSQL (pip install 'rescale-mockkit[postgres]'); "
                            f"default: SQLite in the data dir (${DATABASE_ENV})")


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"database": args.database}
