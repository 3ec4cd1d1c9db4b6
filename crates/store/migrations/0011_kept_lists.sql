-- What an on-demand server offers while it sleeps: the handshake result and the tool,
-- prompt and resource lists of its last runs, one row per server version. The gateway
-- answers lists for a sleeping server from the newest row and compares each new run's lists
-- with it, so clients hear `list_changed` when an update changed them.
CREATE TABLE kept_lists (
    server     TEXT NOT NULL REFERENCES servers(name) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    -- JSON: {"init": {...}, "tools": [...], "prompts": [...], ...}; only lists it offers.
    lists      TEXT NOT NULL,
    kept_at_ms INTEGER NOT NULL,
    PRIMARY KEY (server, version)
) STRICT;

-- The three newest versions of each server are kept: enough to go back after an update.
CREATE TRIGGER kept_lists_keep_three AFTER INSERT ON kept_lists
BEGIN
    DELETE FROM kept_lists
    WHERE server = NEW.server
      AND version NOT IN (SELECT version FROM kept_lists WHERE server = NEW.server
                          ORDER BY kept_at_ms DESC, rowid DESC LIMIT 3);
END;
