"""Schema migrations, applied on start: numbered SQL files in store/migrations/, recorded in `schema_migrations`.

A file `NNNN_what.sql` is portable SQL run on both engines (INTEGER and REAL become BIGINT and DOUBLE PRECISION on
PostgreSQL, whose INTEGER and REAL are 32-bit); a pair `NNNN_what.sqlite.sql` + `NNNN_what.postgres.sql` gives each
engine its own. Each migration runs in one transaction with its record, under the store's write lock, so servers
starting together over one database apply it once. A database made before migrations existed (its tables there,
no `schema_migrations`) takes migration 1 as a no-op: that file's statements are all IF NOT EXISTS.
"""
from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


FOLDER = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgres))?\.sql$")
TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
         "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(engine: str, folder: Path = FOLDER) -> list[Migration]:
    """The engine's migrations in order; a gap, a clash or a one-sided engine pair is an error in the package."""
    found: dict[int, dict[str | None, Path]] = {}
    for path in folder.glob("*.sql"):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name}: name it NNNN_what.sql or NNNN_what.<engine>.sql")
        found.setdefault(int(match[1]), {})[match[3]] = path
    out = []
    for number, version in enumerate(sorted(found), start=1):
        files = found[version]
        if version != number or (None in files and len(files) > 1) or (None not in files and len(files) != 2):
            raise ValueError(f"migration {version:04d}: expected one portable file or one file per engine, numbered "
                             f"without gaps; found {sorted(p.name for p in files.values())}")
        path = files.get(None) or files[engine]
        sql = path.read_text(encoding="utf-8")
        name = path.name.split("_", 1)[1].split(".", 1)[0]
        out.append(Migration(version, name, portable(sql, engine) if None in files else sql))
    return out


def portable(sql: str, engine: str) -> str:
    """Portable DDL for `engine`: PostgreSQL's INTEGER and REAL are 32-bit, SQLite's 64."""
    if engine != "postgres":
        return sql
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", re.sub(r"\bINTEGER\b", "BIGINT", sql))


def statements(script: str) -> list[str]:
    """A script's statements, one by one (sqlite3 knows where one ends: quotes and comments included); SQLite's
    executescript would commit the migration's transaction first."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    if current.strip() and not all(l.strip().startswith("--") or not l.strip() for l in current.splitlines()):
        raise ValueError(f"unterminated SQL statement: {current.strip()[:80]}")
    return [s for s in out if s.rstrip(";").strip()]


def run_script(conn: Any, script: str) -> None:
    for statement in statements(script):
        conn.execute(statement)


def migrate(db: Any, folder: Path = FOLDER) -> list[int]:
    """Apply what is not applied yet; returns the versions applied now."""
    applied_now = []
    with db.transaction() as conn:
        conn.execute(portable(TABLE, db.engine))
    for migration in migrations(db.engine, folder):
        with db.transaction() as conn:  # the lock first, then the check: a racing server applied it, or not
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)).fetchone():
                continue
            run_script(conn, migration.sql)
            conn.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                         (migration.version, migration.name, time.time()))
            applied_now.append(migration.version)
    return applied_now
