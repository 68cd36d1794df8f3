"""The PostgreSQL engine (psycopg 3), with the SQLite Database's interface, for a fake shared by a team.

- One connection per thread, as with SQLite: a read inside `transaction()` (the same thread) sees the transaction's
  writes, and a thread never waits for a pooled connection while it holds the write lock.
- `transaction()` takes a transaction-scoped advisory lock first, so read-modify-write sequences serialize across
  threads AND processes, as SQLite's BEGIN IMMEDIATE does; `append()` and reads do not take it.
- SQL keeps SQLite's `?` placeholders (translated to `%s` here); rows read by name and by index; integral NUMERIC
  results (SUM of BIGINT) come back as int, not Decimal, as SQLite's do; a NUL character, which PostgreSQL's text
  cannot hold, is stored as U+FFFD.
"""
from __future__ import annotations

import contextlib
import functools
import re
import threading
import zlib
from typing import Any, Callable, Iterator, Sequence

import psycopg
from psycopg.adapt import Loader

from .db import DatabaseUnavailable, redacted


class Row(tuple):
    """A result row read by column name (`row["id"]`) or by index (`row[0]`), like sqlite3.Row."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        return tuple.__getitem__(self, self._names[key] if isinstance(key, str) else key)

    def keys(self) -> list[str]:
        return list(self._names)


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"_names": {name: i for i, name in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    return _row_class(tuple(column.name for column in cursor.description or ()))


class _NumericLoader(Loader):
    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


_LITERAL = re.compile(r"('(?:[^']|'')*'|\"[^\"]*\")")


@functools.lru_cache(maxsize=1024)
def placeholders(sql: str) -> str:
    """SQLite's `?` placeholders as psycopg's `%s`, a literal `%` escaped; quoted text is left alone."""
    parts = _LITERAL.split(sql)
    return "".join(p.replace("%", "%%") if i % 2 else p.replace("%", "%%").replace("?", "%s")
                   for i, p in enumerate(parts))


class Connection:
    """A psycopg connection that speaks the sqlite3 interface the store uses: execute/executemany with `?`."""

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor:
        if not args:  # without parameters psycopg reads no placeholders, so `%` stays as written
            return self.raw.execute(sql)  # type: ignore[arg-type]
        return self.raw.execute(placeholders(sql), _storable(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(placeholders(sql), [_storable(r) for r in rows])
        return cursor


def _storable(args: Sequence[Any]) -> tuple[Any, ...]:
    """PostgreSQL's text holds no NUL character (SQLite's does): it is stored, and looked up, as U+FFFD, as lone
    surrogates read back (db.from_json)."""
    return tuple(a.replace("\0", "\ufffd") if isinstance(a, str) and "\0" in a else a for a in args)


class PostgresDatabase:
    engine = "postgres"
    insert_order = "seq"  # job_runs has a seq column here (SQLite's rowid there)
    like = "ILIKE"  # SQLite's LIKE ignores case
    binary_order = ' COLLATE "C"'  # sort text by bytes, as SQLite does

    @staticmethod
    def json_text(column: str, key: str) -> str:
        """SQL for the top-level `key` of a JSON text column (NULL when missing or null). JSON stays TEXT, and
        PostgreSQL's json functions refuse a document holding `\\u0000` (which SQLite keeps, a name may hold it):
        it reads as U+FFFD here. The store's partial indexes use these very expressions."""
        return f"(replace({column}, '\\u0000', '\\ufffd')::json ->> '{key}')"

    def __init__(self, url: str, migrate: Callable[[Any], Any]) -> None:
        self.url = url
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, psycopg.Connection]] = []  # each with the thread that uses it
        self._lock = threading.Lock()
        try:
            schema = self.connection().execute("SELECT current_schema()").fetchone()[0]  # type: ignore[index]
            # one lock per database and schema, so test sessions in schemas of their own do not wait on each other
            self._lock_key = zlib.crc32(f"rescale-mock:{schema}".encode())
            migrate(self)
        except psycopg.Error as err:
            self.close()
            raise DatabaseUnavailable(f"database {redacted(url)} cannot be used: "
                                      f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"
                                      ) from None

    def connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.raw.broken or conn.raw.closed:
            raw = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory, connect_timeout=10)
            raw.adapters.register_loader("numeric", _NumericLoader)
            # `append` commits without waiting for the WAL flush; transactions restore the server's setting
            self._durable = str(raw.execute("SHOW synchronous_commit").fetchone()[0])  # type: ignore[index]
            raw.execute("SET synchronous_commit TO OFF")
            conn = self._local.conn = Connection(raw)
            with self._lock:  # a server process is a scarce resource: a thread that ended, or this thread's broken
                # connection, gives its own back
                me = threading.current_thread()
                ended = [r for t, r in self._all if not t.is_alive() or t is me]
                self._all = [(t, r) for t, r in self._all if t.is_alive() and t is not me] + [(me, raw)]
            for old in ended:
                with contextlib.suppress(psycopg.Error):
                    old.close()
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        conn = self.connection()
        with conn.raw.transaction():
            conn.raw.execute("SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', %s, true)",
                             (self._lock_key, self._durable))
            yield conn

    def append(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        """One standalone INSERT that needs no serialization with other writes (a journal row; autocommit: its own
        transaction). It is committed without waiting for the WAL flush (the connection's `synchronous_commit` is
        off; `transaction()` sets the server's own value back for its writes, in the statement that takes the lock):
        the row is visible to every session once this returns, and only a crash of the PostgreSQL server itself (not
        of a worker) within the WAL writer's delay could lose it, which a journal row may."""
        self.connection().execute(sql, args)

    def in_transaction(self) -> bool:
        """Whether this thread is inside `transaction()` (what it reads may be its own uncommitted writes)."""
        return self.connection().raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return self.connection().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        return self.connection().execute(sql, args).fetchone()

    def close(self) -> None:
        with self._lock:
            for _thread, raw in self._all:
                with contextlib.suppress(psycopg.Error):
                    raw.close()
            self._all.clear()
        self._local = threading.local()
