-- The request journal (state every server process must see): the engine gives each row its id, which SQLite
-- and PostgreSQL write differently.
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
