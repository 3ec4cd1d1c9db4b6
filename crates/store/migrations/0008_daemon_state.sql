-- The daemon's own state, one row: whether the user paused every server (`switchboard
-- pause`). Paused is kept apart from each server's `enabled`, so resuming brings back exactly
-- the servers that are enabled, and it survives a daemon restart.
CREATE TABLE daemon_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    paused INTEGER NOT NULL DEFAULT 0
);
INSERT INTO daemon_state (id, paused) VALUES (1, 0);
