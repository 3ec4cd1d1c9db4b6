//! AI clients and their tokens: the tokens clients present to the gateway, the clients on
//! this machine and how they are wired, and the requests that connect, disconnect, import and
//! undo.
//!
//! The calls clients make are recorded in [`super::history`].

use super::ToolCost;
use crate::UnixMillis;

/// A client allowed to use the gateway (`GET /api/v1/tokens`). Its token is never shown again.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TokenView {
    pub name: String,
    pub created_at_ms: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<UnixMillis>,
    /// The profile it uses; `None`: every enabled server.
    #[serde(default)]
    pub profile: Option<String>,
    /// What its tools cost, once the daemon counted them.
    #[serde(default)]
    pub cost: Option<ToolCost>,
}

/// Body of `POST /api/v1/tokens`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct IssueToken {
    pub name: String,
}

/// Answer to `POST /api/v1/tokens`: the only time a client token is shown.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct IssuedToken {
    pub name: String,
    pub token: String,
}

/// An AI client on this machine and how it is wired (`GET /api/v1/clients`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AppClient {
    /// Stable id, e.g. `claude-desktop`.
    pub id: String,
    pub name: String,
    /// Why it looks installed (`program /usr/bin/codex`), or `None` if it does not.
    pub installed: Option<String>,
    /// Whether one of its processes is running now.
    pub running: bool,
    /// Entries are URLs (else the `switchboard connect` shim is launched).
    pub http_native: bool,
    /// What the user must do for the client to see a change: `live`, `refresh`, `restart`,
    /// `new-session`.
    pub reload: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// What the user asked it to get; `None` if it is not connected.
    pub wiring: Option<Wiring>,
    /// What the tools it is offered cost, when it is connected.
    #[serde(default)]
    pub cost: Option<ToolCost>,
    pub files: Vec<AppClientFile>,
}

/// The servers a client gets through the gateway.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Wiring {
    /// One entry per server; `None` for one aggregate entry with every enabled server.
    pub servers: Option<Vec<String>>,
    /// Write the entries back when the client or the user removes or changes them.
    pub reapply: bool,
}

/// One of a client's config files.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AppClientFile {
    pub path: String,
    pub exists: bool,
    /// Switchboard's entries that are in the file as written.
    pub entries: Vec<String>,
    /// Switchboard's entries that are missing or were edited since.
    pub drifted: Vec<String>,
    /// Entries that are not Switchboard's (candidates for import).
    pub foreign: Vec<String>,
    /// Why the file cannot be read or parsed, if it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `POST /api/v1/clients/{id}/connect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ConnectClient {
    /// One entry per named server; `None` (or `all`) for the one aggregate entry.
    pub servers: Option<Vec<String>>,
    /// Overwrite or remove Switchboard's entries even where the user edited them.
    pub force: bool,
    /// Compute and show the change; write nothing.
    pub dry_run: bool,
    /// Re-apply the entries whenever the file loses them.
    pub reapply: bool,
}

/// Body of `POST /api/v1/clients/{id}/disconnect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct DisconnectClient {
    pub force: bool,
    pub dry_run: bool,
}

/// What a connect, disconnect or undo did (or, dry, would do) to a client's files.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ClientChange {
    pub client: String,
    pub dry_run: bool,
    pub files: Vec<FileChange>,
    /// What the user must do now for the client to see it, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    /// The journal operation that made the change (none when dry or nothing was written):
    /// `POST /api/v1/clients/undo {"operation": N}` undoes exactly it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct FileChange {
    pub path: String,
    /// Each entry and what happened to it: `added`, `updated`, `unchanged`, `removed`,
    /// `kept-foreign` (the user's own), `kept-edited` (ours, edited by the user).
    pub entries: Vec<EntryChange>,
    /// Whether the file's bytes change.
    pub changed: bool,
    /// A unified diff of the change, with tokens masked (dry runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct EntryChange {
    pub entry: String,
    pub change: String,
}

/// Body of `POST /api/v1/clients/import`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ImportClients {
    /// Client ids to import from; empty for every client on the machine.
    pub clients: Vec<String>,
    /// Replace each imported entry in the client's file by the gateway's.
    pub replace: bool,
    pub dry_run: bool,
}

/// What an import adopted and what it left.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ImportReport {
    pub dry_run: bool,
    pub adopted: Vec<AdoptedServer>,
    pub skipped: Vec<SkippedEntry>,
    /// The clients' files rewritten to use the gateway (with `replace`).
    pub replaced: Vec<ClientChange>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AdoptedServer {
    pub server: String,
    /// Where it was found: `client-id: entry-name`, each place once.
    pub found_in: Vec<String>,
    /// It matched a server Switchboard already had, so nothing was added.
    pub existing: bool,
    /// Credential-named variables or headers whose values moved into the keychain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SkippedEntry {
    pub client: String,
    pub entry: String,
    pub reason: String,
}

/// Body of `POST /api/v1/clients/setup`: the first run's one action.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct SetUpClients {
    /// Client ids to route through Switchboard; empty for every client found on this machine.
    pub clients: Vec<String>,
    pub dry_run: bool,
}

/// What setting clients up did (or, dry, would do): the servers adopted from their files, and
/// each client's files pointed at the gateway's one entry, its adopted entries removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SetUpReport {
    pub dry_run: bool,
    pub adopted: Vec<AdoptedServer>,
    /// Entries left where they are, with the reason.
    pub skipped: Vec<SkippedEntry>,
    /// Each client's change (with its diff, when dry).
    pub clients: Vec<ClientChange>,
    /// Clients that could not be changed (their file cannot be read, say), with the reason;
    /// the others were changed all the same.
    pub failed: Vec<SkippedEntry>,
}

/// Body of `POST /api/v1/clients/undo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UndoClients {
    /// Undo the last change to this client's files; `None` for the last change to any.
    pub client: Option<String>,
    /// Undo exactly this operation instead (a `ClientChange`'s), if it is not undone yet and
    /// its files still hold what it wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<i64>,
}
