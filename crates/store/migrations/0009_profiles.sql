-- Profiles: named selections of servers and of their tools, prompts and resources (a JSON
-- object, the control API's `Profile`), and the profile each gateway client uses. A client
-- without a row is offered every enabled server. A client's profile outlives its token, so
-- reconnecting a client keeps it.
CREATE TABLE profiles (
    name          TEXT PRIMARY KEY NOT NULL,
    offers        TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE client_profiles (
    client  TEXT PRIMARY KEY NOT NULL,
    profile TEXT NOT NULL REFERENCES profiles(name)
) STRICT;

-- A client's own budget for what its tools cost a model's context, in tokens; a client
-- without a row has the daemon's.
CREATE TABLE client_budgets (
    client TEXT PRIMARY KEY NOT NULL,
    tokens INTEGER NOT NULL
) STRICT;
