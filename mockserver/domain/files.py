"""Files: uploads, job outputs, listing with search, metadata changes, deletion and text lines."""
from __future__ import annotations

import base64
import io
import hashlib
import posixpath
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..store.blobs import BlobInfo, Blobs, StagedUpload
from ..store.db import Database, id_taken
from .errors import InvalidInput, NotAllowed, NotFound
from .ids import IdFactory
from .tenants import Tenant, Tenants

INPUT_FILE, OUTPUT_FILE = 1, 5
MAX_NAME = 255
TEXT_PROBE = 8192
FILE_ORDERINGS = {"-dateUploaded": "seq DESC", "dateUploaded": "seq ASC",
                  "name": "name ASC, seq DESC", "-name": "name DESC, seq DESC"}


@dataclass(frozen=True)
class FileRecord:
    id: str
    tenant_id: str
    name: str
    type_id: int
    relative_path: str
    path: str
    size: int
    md5: str
    sha512: str
    encryption_key: str
    date_uploaded: float
    blob: str
    job_id: str | None
    run_id: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "FileRecord":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class _Row:
    """What a new file row needs beyond the tenant, the job and the date."""

    name: str
    type_id: int
    relative_path: str
    path: str
    info: BlobInfo
    run_id: str | None = None  # set for rows of several runs at once (a sweep's); else the call's
    uploaded: float | None = None


class Files:
    def __init__(self, db: Database, blobs: Blobs, ids: IdFactory, tenants: Tenants, type_ids: Iterable[int]) -> None:
        self.db, self.blobs, self.ids, self.tenants = db, blobs, ids, tenants
        self.type_ids = frozenset(type_ids)  # the spec's FileTypeId enum: typeId arrives in forms, checked here

    # -- creating ----------------------------------------------------------------------------------------------
    def add_upload(self, tenant: Tenant, filename: str | None, staged: StagedUpload, type_id: int | None) -> FileRecord:
        name = posixpath.basename((filename or "").replace("\\", "/"))
        errors = _name_errors(name)
        if type_id is not None and type_id not in self.type_ids:
            errors["typeId"] = [f'"{type_id}" is not a valid choice.']
        if errors:
            staged.discard()
            raise InvalidInput(errors)
        stem, ext = posixpath.splitext(name)
        path = f"{tenant.storage_prefix}/{stem}-{uuid.uuid4()}{ext}"
        info = self.blobs.commit(staged)
        try:
            return self._insert(tenant, [_Row(name, type_id or INPUT_FILE, name, path, info)])[0]
        except BaseException:
            self.blobs.delete(info.blob)
            raise

    def add_outputs(self, tenant: Tenant, job_id: str, run_id: str, outputs: list[tuple[str, Iterable[bytes]]],
                    uploaded: float, also: Callable[[sqlite3.Connection], None]) -> list[FileRecord]:
        """A finished job's output files, all or none: their contents are written to the staging folder first (a
        crash there leaves only staging files, which the next start removes), moved into place, then every row is
        inserted in one transaction with `also` (the job's own "outputs written" mark). A crash before that commit
        leaves no row, so the next read writes them again, once."""
        staged: list[StagedUpload] = []
        infos: list[BlobInfo] = []
        try:
            for _relative, chunks in outputs:
                staged.append(self.blobs.stage())
                for chunk in chunks:
                    staged[-1].write(chunk)
            infos = [self.blobs.commit(one) for one in staged]
        except BaseException:
            for one in staged:
                one.discard()
            for info in infos:
                self.blobs.delete(info.blob)
            raise
        stored = [(relative, info) for (relative, _chunks), info in zip(outputs, infos)]
        return self.add_stored_outputs(tenant, job_id, run_id, stored, uploaded, also)

    def add_stored_outputs(self, tenant: Tenant, job_id: str, run_id: str, outputs: list[tuple[str, BlobInfo]],
                           uploaded: float, also: Callable[[sqlite3.Connection], None]) -> list[FileRecord]:
        """Output files already in the blob store (a real run's), listed all or none in one transaction with
        `also`; if that fails, their blobs go too."""
        prefix = f"{tenant.storage_prefix}/output/job_{job_id}/run{run_id}"
        try:
            return self._insert(tenant, [
                _Row(posixpath.basename(relative), OUTPUT_FILE, relative, f"{prefix}/{relative}", info)
                for relative, info in outputs
            ], job_id=job_id, run_id=run_id, uploaded=uploaded, also=also)
        except BaseException:
            for _relative, info in outputs:
                self.blobs.delete(info.blob)
            raise

    def add_run_outputs(self, tenant: Tenant, job_id: str,
                        items: Iterable[tuple[str, str, Iterable[bytes], float]]) -> int:
        """Many outputs of a sweep's runs at once, `(run_id, relative_path, chunks, uploaded)` each, listed in one
        transaction; returns how many were listed. A run whose files another worker listed meanwhile keeps those:
        these are dropped, blobs and all, so each run's files are listed once."""
        rows: list[_Row] = []
        prefix = f"{tenant.storage_prefix}/output/job_{job_id}"
        try:
            for run_id, relative, chunks, uploaded in items:
                info = self.blobs.write(chunks, durable=False)
                rows.append(_Row(posixpath.basename(relative), OUTPUT_FILE, relative,
                                 f"{prefix}/run{run_id}/{relative}", info, run_id, uploaded))
            listed = self._insert(tenant, rows, job_id=job_id, skip_listed_runs=True)
        except BaseException:
            for row in rows:
                self.blobs.delete(row.info.blob)
            raise
        kept = {record.blob for record in listed}
        for row in rows:
            if row.info.blob not in kept:
                self.blobs.delete(row.info.blob)
        return len(listed)

    def _insert(self, tenant: Tenant, rows: list["_Row"], job_id: str | None = None, run_id: str | None = None,
                uploaded: float | None = None, also: Callable[[sqlite3.Connection], None] | None = None,
                skip_listed_runs: bool = False) -> list[FileRecord]:
        """Lists `rows` in one transaction; `skip_listed_runs`: not those of a run of the job that has files."""
        date = self.tenants.now(tenant) if uploaded is None else uploaded
        ids = self.tenants.ids_for(tenant)
        fields = FileRecord.__dataclass_fields__
        records = []
        with self.db.transaction() as conn:
            if skip_listed_runs:
                listed = {r["run_id"] for r in conn.execute("SELECT DISTINCT run_id FROM files WHERE job_id = ?",
                                                            (job_id,)).fetchall()}
                rows = [row for row in rows if row.run_id not in listed]
            for row in rows:
                info = row.info
                record = FileRecord(
                    id=ids.fresh(id_taken(conn, "files")), tenant_id=tenant.id, name=row.name, type_id=row.type_id,
                    relative_path=row.relative_path, path=row.path, size=info.size, md5=info.md5, sha512=info.sha512,
                    encryption_key=base64.b64encode(hashlib.sha256(info.sha512.encode()).digest()).decode(),
                    date_uploaded=date if row.uploaded is None else row.uploaded, blob=info.blob, job_id=job_id,
                    run_id=row.run_id or run_id,
                )
                conn.execute(
                    f"INSERT INTO files ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})",
                    tuple(getattr(record, f) for f in fields),
                )
                records.append(record)
            if also is not None:
                also(conn)
        return records

    # -- reading -----------------------------------------------------------------------------------------------
    def get(self, tenant: Tenant, file_id: str) -> FileRecord:
        row = self.db.one("SELECT * FROM files WHERE id = ? AND tenant_id = ?", (file_id, tenant.id))
        if row is None:
            raise NotFound("file")
        return FileRecord.from_row(row)

    def find(self, tenant: Tenant, ids: Iterable[str]) -> dict[str, FileRecord]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        rows = self.db.query(
            f"SELECT * FROM files WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in wanted)})",
            (tenant.id, *wanted),
        )
        return {r["id"]: FileRecord.from_row(r) for r in rows}

    def page(self, tenant: Tenant, offset: int, limit: int, search: str | None = None,
             job_id: str | None = None, run_id: str | None = None,
             ordering: str | None = None) -> tuple[int, list[FileRecord]]:
        """Newest first (`-dateUploaded`) unless `ordering` says otherwise; search is a name substring."""
        where, args = ["tenant_id = ?"], [tenant.id]
        if job_id is not None:
            where.append("job_id = ?")
            args.append(job_id)
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if search:
            where.append(f"name {self.db.like} ? ESCAPE '\\'")
            args.append("%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        clause = " AND ".join(where)
        count = self.db.one(f"SELECT COUNT(*) FROM files WHERE {clause}", tuple(args))[0]
        rows = self.db.query(
            f"SELECT * FROM files WHERE {clause} ORDER BY {FILE_ORDERINGS[ordering or '-dateUploaded']} LIMIT ? OFFSET ?",
            (*args, limit, offset)
        )
        return count, [FileRecord.from_row(r) for r in rows]

    def output_bytes(self, tenant: Tenant, job_id: str) -> int:
        row = self.db.one("SELECT COALESCE(SUM(size), 0) FROM files WHERE tenant_id = ? AND job_id = ?",
                          (tenant.id, job_id))
        return int(row[0])

    def lines(self, tenant: Tenant, file_id: str) -> list[str]:
        record = self.get(tenant, file_id)
        with self.blobs.open(record.blob) as fh:
            if b"\0" in fh.read(TEXT_PROBE):
                raise NotAllowed("File is not a text file.")
            fh.seek(0)
            return list(io.TextIOWrapper(fh, encoding="utf-8", errors="replace", newline=""))

    # -- changing ----------------------------------------------------------------------------------------------
    def update(self, tenant: Tenant, file_id: str, changes: dict[str, Any]) -> FileRecord:
        record = self.get(tenant, file_id)
        columns: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        if "name" in changes:
            errors.update(_name_errors(changes["name"]))
            columns["name"] = changes["name"]
        if "typeId" in changes:
            type_id = int(changes["typeId"])  # a LooseInteger: 4 or "4"
            if type_id not in self.type_ids:
                errors["typeId"] = [f'"{changes["typeId"]}" is not a valid choice.']
            columns["type_id"] = type_id
        if errors:
            raise InvalidInput(errors)
        if columns:
            with self.db.transaction() as conn:
                conn.execute(
                    f"UPDATE files SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                    (*columns.values(), record.id),
                )
        return self.get(tenant, file_id)

    def delete(self, tenant: Tenant, file_id: str) -> None:
        record = self.get(tenant, file_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM files WHERE id = ?", (record.id,))
        self.blobs.delete(record.blob)

    def delete_where(self, tenant_id: str, job_id: str | None = None) -> None:
        """Drop a tenant's files (or one job's outputs) with their blobs; used by reset and job deletion."""
        clause, args = ("tenant_id = ? AND job_id = ?", (tenant_id, job_id)) if job_id else ("tenant_id = ?", (tenant_id,))
        with self.db.transaction() as conn:
            blobs = [r["blob"] for r in conn.execute(f"SELECT blob FROM files WHERE {clause}", args)]
            conn.execute(f"DELETE FROM files WHERE {clause}", args)
        for blob in blobs:
            self.blobs.delete(blob)


def _name_errors(name: Any) -> dict[str, list[str]]:
    if not isinstance(name, str) or not name.strip():
        return {"name": ["This field may not be blank."]}
    if len(name) > MAX_NAME:
        return {"name": [f"Ensure this field has no more than {MAX_NAME} characters."]}
    if "/" in name or "\0" in name:
        return {"name": ["Enter a valid file name."]}
    return {}
