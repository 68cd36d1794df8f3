-- State every server process must see (what one process used to keep in memory): run-time server settings,
-- seeded streams, counters and fault rules (the request journal: migration 3).
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
-- named counters (fault rule ids; `stateVersion`, which guards the processes' caches)
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
