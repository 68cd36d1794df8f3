"""Opening the store's database: the engine a URL names, migrated to the current schema before use."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from .db import Database, DatabaseUnavailable
from .migrate import migrate


def open_database(url: str | None, data_dir: Path) -> "Database":
    """SQLite in `data_dir` when `url` is None, else the PostgreSQL database at `url` (postgresql://...)."""
    if url is None:
        db = None
        try:
            db = Database(data_dir / "rescale-mock.sqlite3")
            migrate(db)  # also proves now, not at the first write, that the database is writable
            return db
        except sqlite3.Error as err:
            if db is not None:
                db.close()
            raise DatabaseUnavailable(f"data dir {data_dir}: its database cannot be used: {err}") from None
    if not re.match(r"postgres(ql)?://", url):
        raise DatabaseUnavailable(f"--database {url!r}: only postgresql:// URLs are supported "
                                  "(without --database: SQLite in the data dir)")
    from .postgres import PostgresDatabase  # psycopg is an optional extra: imported only when asked for

    return PostgresDatabase(url, migrate)  # type: ignore[return-value]  # the same interface, duck-typed
