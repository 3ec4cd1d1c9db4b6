-- AI clients' config files that Switchboard writes into.
-- What each client was asked to get: `servers` is a JSON list of names, NULL for the aggregate.
CREATE TABLE client_wiring (
    client          TEXT PRIMARY KEY NOT NULL,
    servers         TEXT,
    reapply         INTEGER NOT NULL,
    connected_at_ms INTEGER NOT NULL
) STRICT;

-- The entries Switchboard wrote into each file: names and content hashes (JSON), never values.
CREATE TABLE client_files (
    client    TEXT NOT NULL,
    path      TEXT NOT NULL,
    ownership TEXT NOT NULL,
    PRIMARY KEY (client, path)
) STRICT;

-- One row per file written. The bytes before and after are kept beside the database as
-- owner-only files (journal/<id>.before, .after), not here: a client's file may hold the
-- user's own credentials. `operation` groups the files of one command, undone together.
CREATE TABLE client_journal (
    id               INTEGER PRIMARY KEY,
    operation        INTEGER NOT NULL,
    at_ms            INTEGER NOT NULL,
    client           TEXT NOT NULL,
    path             TEXT NOT NULL,
    action           TEXT NOT NULL,
    before_sha256    TEXT,
    after_sha256     TEXT,
    ownership_before TEXT NOT NULL,
    undone           INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX client_journal_by_operation ON client_journal(operation);
