-- Servers exposed on the tailnet, and to whom besides this node's owner: a JSON array of
-- tailnet user logins and `tag:` names. Removing a server removes its exposure.
CREATE TABLE exposures (
    server        TEXT PRIMARY KEY NOT NULL REFERENCES servers(name) ON DELETE CASCADE,
    audience      TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;
