-- Tool quarantine: the tool definitions a person approved, per server. A server is screened
-- once it has a row in `screened_servers`: its first listing is approved as it is (installing
-- a server approves what it offers), and later new or changed definitions are held back
-- until approved, unless it trusts its updates. Each approved definition is kept whole (the
-- gateway serves it while the server offers a changed one), with the digest of its
-- canonical JSON.
CREATE TABLE screened_servers (
    server        TEXT PRIMARY KEY NOT NULL,
    trust_updates INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE approved_tools (
    server         TEXT NOT NULL REFERENCES screened_servers(server) ON DELETE CASCADE,
    tool           TEXT NOT NULL,
    digest         TEXT NOT NULL,
    definition     TEXT NOT NULL,
    approved_at_ms INTEGER NOT NULL,
    PRIMARY KEY (server, tool)
) STRICT;

-- What a server's tool results that hold a credential become for clients (`redact`,
-- `block` or `allow`); a server without a row redacts.
CREATE TABLE secret_results (
    server  TEXT PRIMARY KEY NOT NULL,
    results TEXT NOT NULL
) STRICT;
