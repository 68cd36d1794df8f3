"""A throwaway PostgreSQL for tests, from the OS's packages (`apt-get install postgresql`): its own cluster in a
temporary folder, listening only on a unix socket there, fsync off, removed afterwards. As root (a container, CI),
initdb and postgres refuse to run, so they run as the `postgres` OS user that the package creates.

`RESCALE_MOCK_TEST_POSTGRES=postgresql://...` uses an existing server instead: each session then works in a schema
of its own, dropped afterwards. Without either, `database_url()` fails and says how to get one: never a silent skip.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

ENV = "RESCALE_MOCK_TEST_POSTGRES"
OS_USER = "postgres"  # who runs the cluster when we are root (the Debian package's user)
PREFIX = "rescale-mock-pg-"  # the temporary folders of the clusters
OWNER = "owner.pid"  # in such a folder: the test process that started it


class PostgresUnavailable(RuntimeError):
    pass


def server_binaries() -> Path | None:
    """The folder of the newest installed initdb/pg_ctl (Debian keeps them off PATH, per major version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(re.findall(r"/(\d+)/", p)[0]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class ThrowawayCluster:
    """initdb + pg_ctl start in a temporary folder; `url` reaches it through the unix socket in that folder."""

    def __init__(self) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise PostgresUnavailable(
                "PostgreSQL is not installed, and the suite runs the fake on it too: install it "
                "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql), or point "
                f"{ENV} at a server you have (postgresql://user:password@host/database)")
        self._root = getattr(os, "geteuid", lambda: -1)() == 0
        self._pg_ctl = str(binaries / "pg_ctl")
        self._stop_orphans()
        self.folder = Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.folder / OWNER).write_text(str(os.getpid()))
        if self._root:
            import pwd  # Unix only, as root is

            try:
                owner = pwd.getpwnam(OS_USER)
            except KeyError:
                raise PostgresUnavailable(f"running as root, PostgreSQL must run as the OS user {OS_USER!r}, which does "
                                          f"not exist (apt-get install postgresql creates it), or set {ENV}") from None
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        try:
            self._run(str(binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C", "--no-sync")
            options = (f"-k {self.folder} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=200")
            self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                      "-o", options, "start")
        except BaseException:
            self.close()
            raise
        self.url = f"postgresql://postgres@/postgres?host={quote(str(self.folder), safe='')}"

    def _run(self, *command: str) -> None:
        argv = ["runuser", "-u", OS_USER, "--", *command] if self._root else list(command)
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.folder, timeout=120)
        if done.returncode != 0:
            log = self.folder / "server.log"
            raise PostgresUnavailable(f"{Path(command[0]).name} failed ({done.returncode}): "
                                      f"{(done.stderr or done.stdout).strip()[-800:]}"
                                      + (f"\nserver log:\n{log.read_text()[-800:]}" if log.exists() else ""))

    def close(self) -> None:
        self._stop(self.folder)

    def _stop(self, folder: Path) -> None:
        if (folder / "data" / "postmaster.pid").exists():
            argv = [self._pg_ctl, "-D", str(folder / "data"), "-m", "immediate", "-w", "stop"]
            with contextlib.suppress(Exception):
                subprocess.run(["runuser", "-u", OS_USER, "--", *argv] if self._root else argv, capture_output=True,
                               timeout=60)
        shutil.rmtree(folder, ignore_errors=True)

    def _stop_orphans(self) -> None:
        """Clusters left running by test processes that were killed (no clean-up ran): stopped and removed."""
        for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
            try:
                owner = int((folder / OWNER).read_text())
                os.kill(owner, 0)
            except ProcessLookupError:
                self._stop(folder)
            except (OSError, ValueError):
                continue  # not ours to judge (being created, or another user's)


@contextlib.contextmanager
def schema_of_its_own(url: str) -> Iterator[str]:
    """A fresh schema on an existing server for this session (dropped afterwards); the URL selects it."""
    import psycopg

    schema = f"rescale_mock_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}', safe='')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """A PostgreSQL database for a test session: $RESCALE_MOCK_TEST_POSTGRES's server, else a throwaway cluster."""
    existing = os.environ.get(ENV)
    if existing:
        with schema_of_its_own(existing) as url:
            yield url
        return
    cluster = ThrowawayCluster()
    try:
        yield cluster.url
    finally:
        cluster.close()
