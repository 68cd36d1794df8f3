-- State every server process must see (what one process used to keep in memory): run-time server settings,
-- seeded streams, counters, fault rules and the request journal.
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
