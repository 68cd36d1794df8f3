"""The fake's state, moto-style: one backend per app holding storage and the domain services, no HTTP."""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

from .config import Config
from .control.faults import STREAM as FAULT_STREAM, FaultRules, Journal
from .domain.catalog import read_catalog_file
from .domain.catalogs import Catalogs
from .domain.files import Files
from .domain.ids import STREAM as ID_STREAM, IdFactory
from .domain.clusters import Clusters
from .domain.devices import Devices
from .domain.jobs import Jobs
from .domain.settings import Settings
from .domain.shares import Shares
from .domain.sshkeys import SshKeys
from .domain.tenants import ClockDefaults, Tenant, Tenants
from .errors import unauthorized
from .runner.supervisor import Runner
from .spec import control_spec, rescale_spec
from .store import datadir, state
from .store.blob_stores import open_blob_store
from .store.db import DatabaseUnavailable
from .store.engines import open_database


STALE_UPLOAD_SECONDS = 24 * 3600  # a staged upload untouched this long in a shared folder was cut off


def checked_catalog_file(path: Path) -> dict:
    """A `--catalog` file, checked against the control plane's `CatalogOverlay` schema (the same check as
    `POST /_fake/catalog/`); ValueError names what is wrong."""
    raw = read_catalog_file(path)
    errors = sorted(control_spec().validator("components", "schemas", "CatalogOverlay").iter_errors(raw),
                    key=lambda e: list(e.absolute_path))
    if errors:
        where = [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:5]]
        raise ValueError(f"catalog {path}: " + "; ".join(where))
    return raw


class Backend:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._tmp = None if config.data_dir else tempfile.mkdtemp(prefix="rescale-mock-")
        self.data_dir = datadir.prepare(Path(config.data_dir or self._tmp))  # type: ignore[arg-type]
        # One server holds the data dir's lock; with `shared_store` this backend joins a store other processes use
        self.lock = None if config.shared_store else datadir.DataDirLock(self.data_dir)
        try:
            self.db = open_database(config.database, self.data_dir)
        except DatabaseUnavailable as err:
            if self.lock is not None:
                self.lock.release()
            raise datadir.DataDirError(str(err)) from None
        self._start_state(config)
        try:
            self.blobs = open_blob_store(config.blobs, self.data_dir, config.s3_endpoint_url, config.s3_region)
        except datadir.DataDirError:
            self.db.close()
            if self.lock is not None:
                self.lock.release()
            raise
        if self.lock is not None:
            # This process holds the data dir's exclusive lock, so nobody else is uploading: staged uploads left by
            # a crash go now (only stale ones from a folder store outside the data dir, which other hosts may share).
            self.blobs.sweep_leftovers(0 if self.blobs.tmp.parent == self.data_dir else STALE_UPLOAD_SECONDS)
        self.ids = IdFactory(db=self.db)
        overlays = [*config.catalogs, *(checked_catalog_file(path) for path in config.catalog_files)]
        self.tenants = Tenants(self.db, self.ids, None, ClockDefaults(config.clock_mode, config.clock_factor))
        self.settings = Settings(self.tenants, config.settings)
        self.catalogs = Catalogs(self.tenants, self.settings, overlays)
        # the start-up catalog (its user template; run-time additions: Catalogs.server_catalog, per tenant: for_tenant)
        self.catalog = self.tenants.catalog = self.catalogs.base
        self.files = Files(self.db, self.blobs, self.ids, self.tenants, rescale_spec().schema_enum("FileTypeId"))
        self.clusters = Clusters(self.db, self.tenants, self.catalogs.specs)
        self.jobs = Jobs(self.db, self.tenants, self.files, self.clusters, self.catalogs.specs,
                         config.max_output_bytes)
        self.ssh_keys = SshKeys(self.tenants, config.ssh_authorized_keys)
        self.shares = Shares(self.db)
        self.devices = self.jobs.devices = Devices(self.db, self.tenants, self.catalogs.base_raw.get("storageRegions", []))
        self.runner = Runner(self.jobs, self.clusters, self.files, self.tenants, self.data_dir / "execute",
                             config.execute, self.ssh_keys)
        self.jobs.executor = self.runner
        if self.lock is not None:  # the only server of this store: claims on outputs older than now are dead
            self.jobs.alone_since = time.time()
        self.state_cache = state.cache(self.db)
        self.faults = FaultRules(self.db)
        self.journal = Journal(self.db, config.journal_size)
        self.violations: list[str] = []
        self._lock = threading.Lock()
        for key in config.api_keys:
            self.tenants.ensure(key)

    def _start_state(self, config: Config) -> None:
        """The server-wide state kept in the store. The server that holds the data dir starts it afresh, as when it
        lived in memory: fault rules, journal, seeds and the server-wide settings changed at run time last as long
        as the server (tenants, their clocks and data stay). A backend with `shared_store` joins the state that is
        there, and seeds its streams only if no process did."""
        with self.db.transaction() as conn:
            if not config.shared_store:
                for table in ("faults", "journal", "server_settings", "rng_streams"):
                    conn.execute(f"DELETE FROM {table}")
            for stream in (ID_STREAM, FAULT_STREAM):
                state.join_stream(conn, stream, config.seed)
            if not config.shared_store:
                state.cache(self.db).changed(conn)

    def pinned_state(self) -> AbstractContextManager[None]:
        """For one request: its cached reads of the store's state (tenants, server settings, whether a fault rule
        is live) check one read of the state version (store/state.py StateCache)."""
        return self.state_cache.pinned()

    def authenticate(self, key: str) -> Tenant | None:
        tenant = self.tenants.by_key(key)
        if tenant is None and self.config.accept_any_key and 8 <= len(key) <= 256:
            tenant = self.tenants.ensure(key, limit=self.config.max_tenants)
            if tenant is None:
                raise unauthorized(f"Invalid token. This server accepts any key, but already has its limit of "
                                   f"{self.config.max_tenants} tenants (rescale-mock serve --max-tenants).")
        return tenant

    def tenant_of_job(self, job_id: str) -> Tenant | None:
        """Control-plane calls without a token may name any tenant's job."""
        row = self.db.one("SELECT tenant_id FROM jobs WHERE id = ?", (job_id,))
        return self.tenants.by_id(row["tenant_id"]) if row else None

    def reset(self, tenant: Tenant | None = None) -> None:
        """Forget a tenant's files, jobs and clusters and restart its clock (all tenants when None). All of it is in
        the store, so every server process sees the reset."""
        if tenant is None:
            self.jobs.default_scenario = {}
        for one in [tenant] if tenant else self.tenants.all():
            self.runner.forget(one.id)
            self.files.delete_where(one.id)
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM jobs WHERE tenant_id = ?", (one.id,))
                conn.execute("DELETE FROM clusters WHERE tenant_id = ?", (one.id,))
                conn.execute("DELETE FROM shares WHERE tenant_id = ?", (one.id,))
                conn.execute("DELETE FROM storage_devices WHERE tenant_id = ?", (one.id,))
            self.tenants.restart(one)

    def record_violation(self, message: str) -> None:
        """Test mode: the dispatcher found a response the spec does not allow (the pytest plugin reads these)."""
        with self._lock:
            self.violations.append(message)

    def close(self) -> None:
        self.runner.close()
        self.blobs.close()
        self.db.close()
        if self.lock is not None:
            self.lock.release()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
