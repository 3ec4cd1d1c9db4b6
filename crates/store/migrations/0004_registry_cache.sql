-- Versions of servers read from MCP registries, kept so browsing works offline.
-- `document` is the server.json as published; registries publish no secrets.
CREATE TABLE registry_versions (
    registry     TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    status       TEXT NOT NULL,
    is_latest    INTEGER NOT NULL,
    published_at TEXT,
    updated_at   TEXT,
    document     TEXT NOT NULL,
    PRIMARY KEY (registry, name, version)
) STRICT;

-- When each registry was last read in full or in part, and the newest `updatedAt` seen:
-- the next refresh asks only for what changed after it.
CREATE TABLE registry_syncs (
    registry      TEXT PRIMARY KEY NOT NULL,
    synced_at_ms  INTEGER NOT NULL,
    updated_since TEXT
) STRICT;
