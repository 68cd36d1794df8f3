-- Migration 1: the schema of the versions before migrations (every statement IF NOT EXISTS, so a data dir made by
-- such a version takes it as it is, and only records that it has it).
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
-- what the supervisor of real runs saw happen to a job's process (store/runs.py); rowid is its insertion order
CREATE TABLE IF NOT EXISTS job_runs (
    job_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    facts TEXT NOT NULL DEFAULT '{}'
);
