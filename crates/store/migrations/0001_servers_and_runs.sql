-- Server specs with their desired state, and the history of their runs.
-- Specs are JSON of switchboard_model::ServerSpec minus the name; they hold secret
-- references, never secret values.
CREATE TABLE servers (
    name          TEXT PRIMARY KEY NOT NULL,
    spec          TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    server        TEXT NOT NULL REFERENCES servers(name) ON DELETE CASCADE,
    pid           INTEGER,
    is_restart    INTEGER NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ready_at_ms   INTEGER,
    tools         INTEGER,
    ended_at_ms   INTEGER,
    exit          TEXT
) STRICT;

CREATE INDEX runs_by_server ON runs(server, id);
