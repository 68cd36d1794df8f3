"""`rescale-mock serve` options of the store: which database engine keeps the state (see store/engines.py)."""
from __future__ import annotations

import argparse
import os
from typing import Any

from .config import Config
from .store.db import redacted

DATABASE_ENV = "RESCALE_MOCK_DATABASE"


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--database", default=os.environ.get(DATABASE_ENV) or None, metavar="URL",
                       help="postgresql://... keeps the state in PostgreSQL (pip install 'rescale-mockkit[postgres]'); "
                            f"default: SQLite in the data dir (${DATABASE_ENV})")


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"database": args.database}


def describe(config: Config) -> str:
    """Where the state lives, for the start-up line (never a password)."""
    where = [f"data: {config.data_dir}"]
    if config.database:
        where.append(f"database: {redacted(config.database)}")
    if config.blobs:
        where.append(f"blobs: {config.blobs}")
    return ", ".join(where)
