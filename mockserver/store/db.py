"""The store's database: SQLite in the data directory (WAL; the embedded default) or PostgreSQL (store/postgres.py,
`serve --database postgresql://...`), both behind one interface.

Each thread gets its own connection (the servers are threaded); writes go through `transaction()`, which takes
SQLite's write lock up front so read-modify-write sequences cannot interleave. SQL is written once, portable: `?`
placeholders, and the few dialect differences come from the Database (`json_text`, `insert_order`, `like`,
`binary_order`). Open one with `store.engines.open_database`, which also applies the migrations.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

# The schema lives in numbered migrations (store/migrations/, applied on start by store/migrate.py). A NEW TABLE goes
# in a new migration file there: `NNNN_what.sql` in portable SQL (both engines), or a pair `NNNN_what.sqlite.sql` +
# `NNNN_what.postgres.sql`.


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def from_json(text: str) -> Any:
    """A stored column's JSON. Rows written by older versions may hold lone UTF-16 surrogates (`\\ud800`, which no
    response can encode): they read back as U+FFFD, so such a row can still be listed, served and logged."""
    value = json.loads(text)
    return _scrubbed(value) if _SURROGATE_ESCAPE.search(text) else value


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_scrubbed(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """JSON for a stored column; SQLite's json functions reject Infinity and NaN, so they may never be written."""
    return json.dumps(value, allow_nan=False)


def redacted(url: str) -> str:
    """A database URL without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class DatabaseUnavailable(Exception):
    """The database cannot be opened or migrated; the message says why, in one line."""


class Database:
    engine = "sqlite"
    insert_order = "rowid"  # a column that grows with each insert, for tables keyed otherwise (job_runs)
    like = "LIKE"  # case-insensitive (ASCII), as SQLite's LIKE is
    binary_order = ""  # appended to a text expression sorted on: SQLite compares bytes already

    @staticmethod
    def json_text(column: str, key: str) -> str:
        """SQL for the top-level `key` of a JSON text column (NULL when missing or null)."""
        return f"json_extract({column}, '$.{key}')"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if not path.exists():  # private from the start; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def append(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        """One standalone INSERT that needs no serialization with other writes (a journal row, say)."""
        self.connection().execute(sql, args)  # autocommit: one statement is its own transaction

    def in_transaction(self) -> bool:
        """Whether this thread is inside `transaction()` (what it reads may be its own uncommitted writes)."""
        return self.connection().in_transaction

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        return self.connection().execute(sql, args).fetchone()

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()


class id_taken:  # noqa: N801 - used like the function it was
    """For `IdFactory.fresh`: whether `table` (tenants, files, jobs or clusters) already holds an id. It carries the
    inserting transaction's connection, in which a seeded id factory also counts its draw."""

    def __init__(self, conn: sqlite3.Connection, table: str) -> None:
        assert table in ("tenants", "files", "jobs", "clusters")
        self.conn, self.table = conn, table

    def __call__(self, candidate: str) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {self.table} WHERE id = ?", (candidate,)).fetchone() is not None
