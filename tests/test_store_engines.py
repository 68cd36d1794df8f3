"""The store's two engines behind one interface: SQLite (the default) and PostgreSQL (`serve --database URL`).
Migrations apply once, on both; a data dir made before migrations keeps its data; `transaction()` serializes
read-modify-write sequences across connections (processes) on both; start-up mistakes are one clear line."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from rescale_mock import Config, create_app
from rescale_mock.store import migrate as migrations
from rescale_mock.store.db import Database
from rescale_mock.store.engines import open_database
from rescale_mock.store.postgres import placeholders
from rescale_mock.testing import Control, Fake, ServedProcess
from rescale_mock.testing_postgres import (ENV, PostgresUnavailable, ThrowawayCluster, schema_of_its_own,
                                          server_binaries)

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (SQLite in tmp_path), or a PostgreSQL URL to a schema of this test's own."""
    if request.param == "sqlite":
        yield None
        return
    with schema_of_its_own(request.getfixturevalue("rescale_mock_postgres_url")) as url:
        yield url


def job_body(name: str) -> dict[str, Any]:
    return {"name": name, "jobanalyses": [{"analysis": {"code": "user_included", "version": "0"}, "command": "echo hi",
                                           "hardware": {"coreType": "emerald", "coresPerSlot": 1}}]}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_migrations_apply_once_and_new_ones_on_the_next_start(database_url: str | None, tmp_path: Path) -> None:
    db = open_database(database_url, tmp_path)
    try:
        shipped = [m.version for m in migrations.migrations(db.engine)]
        assert [r["version"] for r in db.query("SELECT version FROM schema_migrations ORDER BY version")] == shipped
        folder = tmp_path / "migrations"
        folder.mkdir()
        for path in migrations.FOLDER.glob("*.sql"):
            (folder / path.name).write_text(path.read_text())
        following = len(shipped) + 1
        (folder / f"{following:04d}_tallies.sql").write_text(  # portable: one file for both engines
            "CREATE TABLE tallies (name TEXT PRIMARY KEY, value INTEGER NOT NULL, at REAL NOT NULL);\n"
            "INSERT INTO tallies (name, value, at) VALUES ('big', 5000000000, 1796000000.25);\n")
        assert migrations.migrate(db, folder) == [following]
        assert migrations.migrate(db, folder) == []  # applied once
        row = db.one("SELECT value, at FROM tallies")
        assert (row[0], row["at"]) == (5_000_000_000, 1796000000.25)  # 64-bit on both (BIGINT, DOUBLE PRECISION)
        names = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY version")]
        assert names[0] == "initial" and names[-1] == "tallies"
    finally:
        db.close()


def test_migration_files_are_numbered_without_gaps_and_paired_per_engine(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_b.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="without gaps"):
        migrations.migrations("sqlite", tmp_path)
    (tmp_path / "0003_b.sql").rename(tmp_path / "0002_b.sqlite.sql")
    with pytest.raises(ValueError, match="one file per engine"):
        migrations.migrations("postgres", tmp_path)
    (tmp_path / "0002_b.postgres.sql").write_text("SELECT 2;")
    assert [m.sql for m in migrations.migrations("postgres", tmp_path)] == ["SELECT 1;", "SELECT 2;"]
    (tmp_path / "2_c.sql").write_text("")
    with pytest.raises(ValueError, match="NNNN_what.sql"):
        migrations.migrations("sqlite", tmp_path)


def test_a_data_dir_made_before_migrations_keeps_its_data(tmp_path: Path) -> None:
    """The previous version's data dir: the same tables (migration 1 is its schema), no schema_migrations."""
    key = "k" * 40
    first = ServedProcess(tmp_path / "data", (key,))
    try:
        job = requests.post(f"{first.base_url}/api/v2/jobs/", json=job_body("before"),
                            headers={"Authorization": f"Token {key}"}, timeout=30).json()
    finally:
        first.close()
    with sqlite3.connect(tmp_path / "data" / "rescale-mock.sqlite3") as conn:
        conn.execute("DROP TABLE schema_migrations")
    again = ServedProcess(tmp_path / "data", (key,))
    try:
        read = requests.get(f"{again.base_url}/api/v2/jobs/{job['id']}/", headers={"Authorization": f"Token {key}"},
                            timeout=30)
        assert read.status_code == 200 and read.json()["name"] == "before"
    finally:
        again.close()
    with sqlite3.connect(tmp_path / "data" / "rescale-mock.sqlite3") as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")] == \
            [m.version for m in migrations.migrations("sqlite")]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_transactions_serialize_read_modify_write_across_connections(database_url: str | None, tmp_path: Path) -> None:
    """Two Database objects stand for two server processes over one store: no increment is lost."""
    dbs = [open_database(database_url, tmp_path) for _ in range(2)]
    dbs[0].append("INSERT INTO tenants (id, key_digest, created, settings) VALUES (?, ?, ?, ?)", ("T", "d", 0.0, "0"))

    def bump(db: Database) -> None:
        for _ in range(40):
            with db.transaction() as conn:
                value = int(conn.execute("SELECT settings FROM tenants WHERE id = ?", ("T",)).fetchone()[0])
                conn.execute("UPDATE tenants SET settings = ? WHERE id = ?", (str(value + 1), "T"))

    threads = [threading.Thread(target=bump, args=(db,)) for db in dbs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert dbs[0].one("SELECT settings FROM tenants")["settings"] == "80"
        with pytest.raises(ZeroDivisionError), dbs[1].transaction() as conn:  # an error rolls back
            conn.execute("UPDATE tenants SET settings = '0'")
            raise ZeroDivisionError
        assert dbs[1].one("SELECT settings FROM tenants")[0] == "80"
    finally:
        for db in dbs:
            db.close()


def test_placeholders_become_psycopg_ones_outside_quoted_text() -> None:
    assert placeholders("SELECT '?%' || ? FROM t WHERE a LIKE ? ESCAPE '\\' AND b = '%'") == \
        "SELECT '?%%' || %s FROM t WHERE a LIKE %s ESCAPE '\\' AND b = '%%'"


@pytest.mark.postgres
def test_served_on_postgres_keeps_state_across_restarts(rescale_mock_postgres_url: str, tmp_path: Path) -> None:
    with schema_of_its_own(rescale_mock_postgres_url) as url:
        key = "p" * 40
        first = ServedProcess(tmp_path / "data", (key,), "--database", url)
        try:
            job = requests.post(f"{first.base_url}/api/v2/jobs/", json=job_body("kept"),
                                headers={"Authorization": f"Token {key}"}, timeout=30).json()
            Control(first.base_url, key).advance(1)
        finally:
            first.close()
        again = ServedProcess(tmp_path / "data", (key,), "--database", url)
        try:
            listed = requests.get(f"{again.base_url}/api/v2/jobs/", headers={"Authorization": f"Token {key}"},
                                  timeout=30).json()
            assert [j["id"] for j in listed["results"]] == [job["id"]]
        finally:
            again.close()


def serve(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rescale_mock.cli", "serve", "--port", "0", *argv],
                          capture_output=True, text=True, timeout=60, env={**os.environ})


@pytest.mark.parametrize(("url", "words"), [
    ("mysql://x/y", ["only postgresql:// URLs"]),
    ("postgresql://nobody:secret@/nowhere?host=/nonexistent-socket-dir", ["cannot be used", "***"]),
])
def test_a_database_that_cannot_be_used_is_one_clear_line(tmp_path: Path, url: str, words: list[str]) -> None:
    result = serve("--data-dir", str(tmp_path / "d"), "--database", url)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "secret" not in result.stderr, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if "error:" in line]
    for word in words:
        assert word in error, error


def test_without_postgresql_the_suite_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rescale_mock.testing_postgres.server_binaries", lambda: None)
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        ThrowawayCluster()


def test_the_default_stays_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    app = create_app(Config(data_dir=tmp_path))
    try:
        assert app.extensions["rescale_mock"].db.engine == "sqlite"
        assert (tmp_path / "rescale-mock.sqlite3").exists()
    finally:
        app.extensions["rescale_mock"].close()


@pytest.mark.postgres
def test_a_cluster_left_by_a_killed_test_process_is_stopped_by_the_next(tmp_path: Path) -> None:
    if server_binaries() is None and os.environ.get(ENV):
        pytest.skip(f"PostgreSQL's server programs are not installed; the suite uses {ENV}'s server")
    started = subprocess.Popen([sys.executable, "-c", "import time; from rescale_mock.testing_postgres import "
                                "ThrowawayCluster as C; print(C().folder, flush=True); time.sleep(600)"],
                               stdout=subprocess.PIPE, text=True)
    assert started.stdout is not None
    folder = Path(started.stdout.readline().strip())
    assert (folder / "data" / "postmaster.pid").exists()
    started.kill()  # no clean-up runs: its cluster goes on
    started.wait(timeout=30)
    ThrowawayCluster().close()
    assert not folder.exists()


def test_a_nul_in_a_name_or_a_scenario_reason_is_kept_on_every_engine(fake: Fake) -> None:
    """SQLite keeps `\\u0000` in JSON text and NUL in text, PostgreSQL refuses both: the store still works."""
    api = requests.Session()
    api.headers.update(fake.headers)
    job = api.post(fake.url("api/v2/jobs/"), json=job_body("a\u0000b"), timeout=30).json()
    fake.control.scenario(job["id"], "fail", exitCode=3, reason="bad\u0000input")
    assert api.post(fake.url(f"api/v2/jobs/{job['id']}/submit/"), timeout=30).status_code == 200
    fake.control.advance(3600)
    for ordering in ("name", "-name"):
        listed = api.get(fake.url(f"api/v3/jobs/?ordering={ordering}"), timeout=30)
        assert listed.status_code == 200 and [j["name"] for j in listed.json()["results"]] == ["a\u0000b"]
    assert api.get(fake.url("api/v2/jobs/?state=completed"), timeout=30).json()["count"] == 1
    assert api.get(fake.url("api/v2/files/"), timeout=30).status_code == 200  # looks for unwritten outputs
    # PostgreSQL's text holds no NUL at all: stored (and looked up) as U+FFFD there
    assert api.post(fake.url(f"api/v2/jobs/{job['id']}/share/"), json={"email": "a\u0000@b.com"},
                    timeout=30).status_code == 200
    assert api.get(fake.url("api/v2/files/?search=a%00b"), timeout=30).json()["count"] == 0
    assert api.get(fake.url("api/v2/jobs/a%00b/"), timeout=30).status_code == 404
