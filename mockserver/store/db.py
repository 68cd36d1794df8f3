"""Embedded storage: one SQLite database (WAL) plus a blob folder, under a data directory.

Each thread gets its own connection (the servers are threaded); writes go through `transaction()`, which takes
SQLite's write lock up front so read-modify-write sequences cannot interleave.
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    key_digest TEXT UNIQUE NOT NULL,
    created REAL NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    relative_path TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    sha512 TEXT NOT NULL,
    encryption_key TEXT NOT NULL,
    date_uploaded REAL NOT NULL,
    blob TEXT NOT NULL,
    job_id TEXT,
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS files_by_tenant ON files (tenant_id, seq);
CREATE INDEX IF NOT EXISTS files_by_job ON files (job_id, seq);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_by_tenant ON jobs (tenant_id, seq);
-- submitted jobs whose outputs are not written yet: what a file listing must look at (see Jobs.sync_outputs)
CREATE INDEX IF NOT EXISTS jobs_awaiting_outputs ON jobs (tenant_id)
    WHERE json_extract(state, '$.submitted') IS NOT NULL AND json_extract(state, '$.outputsWritten') IS NULL;
-- a job's own cluster, read under v3 clusters/{id}/ (python-sdk)
CREATE INDEX IF NOT EXISTS jobs_by_own_cluster ON jobs (tenant_id, json_extract(state, '$.ownCluster'))
    WHERE json_extract(state, '$.ownCluster') IS NOT NULL;
-- a parameter sweep's definition (CSV rows, templates), read once when its job is created
CREATE TABLE IF NOT EXISTS sweeps (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    token TEXT NOT NULL,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clusters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS clusters_by_tenant ON clusters (tenant_id, seq);
-- who a job (and so its files) was shared with; a file is shared if it or its job is
CREATE TABLE IF NOT EXISTS shares (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    object_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    UNIQUE (tenant_id, object_id, recipient)
);
CREATE TABLE IF NOT EXISTS storage_devices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS storage_devices_by_tenant ON storage_devices (tenant_id, seq);
-- == state every server process must see (feat/state): what one process used to keep in memory ================
-- server-wide values changed at run time (clock defaults, modes, default scenario, catalog, ssh keys...), as JSON
CREATE TABLE IF NOT EXISTS server_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- seeded random streams (ids, fault probabilities): draw n of a seed is a hash of (seed, n), so no process keeps
-- a generator; seed NULL: unseeded (draws from the OS)
CREATE TABLE IF NOT EXISTS rng_streams (
    name TEXT PRIMARY KEY,
    seed TEXT,
    drawn INTEGER NOT NULL DEFAULT 0
);
-- named counters (fault rule ids)
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
-- fault rules: `times` counts down inside a transaction, so `times: 3` is three across all processes; the rest of
-- the rule (method, path glob, action...) is matched in Python from `spec`
CREATE TABLE IF NOT EXISTS faults (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    tenant_id TEXT,
    times INTEGER,
    fired INTEGER NOT NULL DEFAULT 0,
    spec TEXT NOT NULL
);
-- the request journal, trimmed to the newest `journal_size` ids; `id` is given by the engine on insert
-- (SQLite: the next rowid; PostgreSQL: an identity column), so ids grow across processes; a cleared newest row stays
-- as a `cleared` marker, so SQLite never gives its id again
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    status INTEGER,
    duration_ms REAL NOT NULL,
    operation_id TEXT,
    tenant_id TEXT,
    fault TEXT,
    cleared INTEGER NOT NULL DEFAULT 0
);
"""


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


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if not path.exists():  # private from the start; SQLite gives its -wal and -shm files the same mode
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = self.connection()
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")  # proves now, not at the first write, that the database is writable
        conn.execute("ROLLBACK")

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

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self.connection().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        return self.connection().execute(sql, args).fetchone()

    def append(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        """One standalone INSERT that needs no read-modify-write (a journal row): its own short transaction."""
        self.connection().execute(sql, args)

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
