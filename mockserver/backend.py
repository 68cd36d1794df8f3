"""The fake's state, moto-style: one backend per app holding storage and the domain services, no HTTP."""
from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

from flask import Response

from .config import Config
from .control.faults import FaultRules, Journal
from .domain.catalog import Catalog, load_catalog
from .domain.files import Files
from .domain.ids import IdFactory
from .domain.clusters import Clusters
from .domain.jobs import Jobs
from .domain.jobspec import JobSpecs
from .domain.sshkeys import SshKeys
from .domain.tenants import ClockDefaults, Tenant, Tenants
from .errors import unauthorized
from .responses import json_response
from .runner.supervisor import Runner
from .spec import Operation
from .store import datadir
from .store.blobs import BlobStore
from .store.db import Database

log = logging.getLogger("rescale_mock")


class Backend:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._tmp = None if config.data_dir else tempfile.mkdtemp(prefix="rescale-mock-")
        self.data_dir = datadir.prepare(Path(config.data_dir or self._tmp))  # type: ignore[arg-type]
        self.lock = datadir.DataDirLock(self.data_dir)
        try:
            self.db = Database(self.data_dir / "rescale-mock.sqlite3")
        except sqlite3.Error as err:
            self.lock.release()
            raise datadir.DataDirError(f"data dir {self.data_dir}: its database cannot be used: {err}") from None
        self.blobs = BlobStore(self.data_dir)
        self.ids = IdFactory(config.seed)
        self.catalog = Catalog(config.extra["catalog"]) if "catalog" in config.extra else load_catalog()
        self.tenants = Tenants(self.db, self.ids, self.catalog, ClockDefaults(config.clock_mode, config.clock_factor))
        self.files = Files(self.db, self.blobs, self.ids, self.tenants)
        specs = JobSpecs(self.catalog)
        self.clusters = Clusters(self.db, self.tenants, specs)
        self.jobs = Jobs(self.db, self.tenants, self.files, specs, self.clusters, config.max_output_bytes)
        self.ssh_keys = SshKeys(self.tenants, config.ssh_authorized_keys)
        self.runner = Runner(self.jobs, self.clusters, self.files, self.tenants, self.data_dir / "execute",
                             config.execute, self.ssh_keys)
        self.jobs.executor = self.runner
        self.faults = FaultRules(config.seed)
        self.journal = Journal(config.journal_size)
        self.violations: list[str] = []
        self._lock = threading.Lock()
        for key in config.api_keys:
            self.tenants.ensure(key)

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
        return next((t for t in self.tenants.all() if row and t.id == row["tenant_id"]), None)

    def reset(self, tenant: Tenant | None = None) -> None:
        """Forget a tenant's files, jobs and clusters and restart its clock (all tenants when None)."""
        if tenant is None:
            self.jobs.default_scenario = {}
        for one in [tenant] if tenant else self.tenants.all():
            self.runner.forget(one.id)
            self.files.delete_where(one.id)
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM jobs WHERE tenant_id = ?", (one.id,))
                conn.execute("DELETE FROM clusters WHERE tenant_id = ?", (one.id,))
            self.tenants.restart(one)

    def check_response(self, op: Operation, response: Response) -> Response:
        """Test mode: a response the spec does not allow becomes a loud 500 (and is recorded)."""
        status = str(response.status_code)
        documented = next((op.responses[k] for k in (status, status[0] + "XX", "default") if k in op.responses), None)
        problems: list[str] = []
        if documented is None:
            problems.append(f"status {status} is not documented")
        elif response.mimetype == "application/json" and documented.get("application/json"):
            body = documented["application/json"]
            if body.check is not None:
                problems += body.check(response.get_json())
        elif documented and response.mimetype and response.mimetype not in documented:
            problems.append(f"content type {response.mimetype} is not documented")
        if not problems:
            return response
        message = f"{op.id} {status}: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
        with self._lock:
            self.violations.append(message)
        log.error("response violates the spec: %s", message)
        return json_response(500, {"detail": f"rescale-mockkit response violates the spec: {message}"})

    def close(self) -> None:
        self.runner.close()
        self.db.close()
        self.lock.release()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
