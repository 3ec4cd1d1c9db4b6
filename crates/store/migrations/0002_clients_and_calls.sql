-- Clients allowed to use the gateway, and the history of the tool calls they made.
-- A client's token is stored only as its SHA-256; the token itself is shown once, on issue.
CREATE TABLE clients (
    name          TEXT PRIMARY KEY NOT NULL,
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    last_used_ms  INTEGER
) STRICT;

-- Arguments and results are NULL unless the user turned payload recording on.
CREATE TABLE calls (
    id             INTEGER PRIMARY KEY,
    at_ms          INTEGER NOT NULL,
    client         TEXT NOT NULL,
    server         TEXT NOT NULL,
    tool           TEXT NOT NULL,
    duration_ms    INTEGER NOT NULL,
    outcome        TEXT NOT NULL,
    error          TEXT,
    request_bytes  INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    arguments      TEXT,
    result         TEXT
) STRICT;

CREATE INDEX calls_by_time ON calls(at_ms);
