//! Wire types of the control API (`/api/v1`), shared by the daemon and every client of it.
//!
//! These are the only shapes the CLI, the tray app and the web UI see. They never carry a
//! secret value: specs hold references, and nothing here is filled from the keychain.

use std::collections::BTreeMap;

use crate::{ExitCause, ServerName, ServerSpec, ServerState, UnixMillis};

/// One server as the API shows it: intent, desired state, live state and usage.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ServerView {
    #[serde(flatten)]
    pub spec: ServerSpec,
    /// Desired state: enabled servers are started with the daemon.
    pub enabled: bool,
    pub status: ServerState,
    /// Restarts the supervisor made since the daemon started.
    pub restarts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResourceUsage>,
}

/// CPU and memory of a server's whole process tree.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ResourceUsage {
    pub cpu_percent: f32,
    pub memory_bytes: u64,
    pub processes: u32,
}

/// One tool a running server offers (`GET /api/v1/servers/{name}/tools`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ToolView {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `POST /api/v1/servers`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AddServer {
    #[serde(flatten)]
    pub spec: ServerSpec,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Values for env vars (headers, for a remote server) to keep in the keychain; the spec
    /// refers to them. Literal values named like credentials are moved there too.
    #[serde(default, skip_serializing_if = "SecretValues::is_empty")]
    pub secrets: SecretValues,
}

/// Secret values by name, as a request carries them to the keychain; never shown in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(transparent)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl SecretValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

fn enabled_by_default() -> bool {
    true
}

/// One run of a server: a process from spawn to exit (or a remote session).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RunRecord {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// True when the supervisor started this run on its own after an exit.
    pub restart: bool,
    pub started_at_ms: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at_ms: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitCause>,
}

/// One line a server wrote to stderr (or, wrongly, non-JSON to stdout).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct LogLine {
    /// Increases by one per line for the server's lifetime in this daemon; lets a follower
    /// join a tail and a live stream without gaps or repeats.
    pub seq: u64,
    pub at_ms: UnixMillis,
    pub stream: LogStream,
    pub line: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stderr,
    Stdout,
    /// Lines the supervisor itself wrote about the server (spawned, exited, restarting).
    Supervisor,
}

/// `GET /api/v1/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DaemonStatus {
    pub version: String,
    pub pid: u32,
    pub port: u16,
    pub data_dir: String,
    pub started_at_ms: UnixMillis,
    pub servers: ServerCounts,
    /// MCP sessions open at the gateway (each connected client holds at least one).
    pub sessions: u32,
    /// Tool calls and run records the daemon could not write (a full disk, usually).
    pub unwritten: UnwrittenRecords,
}

/// Records the daemon could not write to its database, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UnwrittenRecords {
    /// Tool calls held in memory, written once the database takes writes again.
    pub calls_waiting: u64,
    /// Tool calls given up on (more were waiting than the daemon keeps).
    pub calls_lost: u64,
    /// Server starts and exits that are missing from the run history.
    pub runs_lost: u64,
    /// Why writing fails now, with what to do; `None` once it works again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ServerCounts {
    pub total: u32,
    pub running: u32,
    pub failing: u32,
}

/// Written by the daemon to `daemon.json` in its data dir once it listens, so clients find it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DaemonInfo {
    pub pid: u32,
    pub port: u16,
    pub version: String,
}

/// `POST /api/v1/web/codes`: a one-time code that signs a browser in to the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SignInCode {
    pub code: String,
    /// The dashboard address that redeems it (the code travels in the fragment, never in a
    /// request line or a log).
    pub url: String,
}

/// `POST /api/v1/web/sessions`: the code a browser trades for its token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RedeemCode {
    pub code: String,
}

/// A browser's bearer token for the control API; it ends when the daemon stops.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct BrowserToken {
    pub token: String,
}

/// The error body of every non-2xx API response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ApiErrorBody {
    /// Stable machine-readable code, e.g. `server_exists`.
    pub code: String,
    /// What went wrong and how to fix it, for people.
    pub message: String,
}

/// Everything the daemon announces on `GET /api/v1/events`. One closed enum.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ServerAdded {
        name: ServerName,
    },
    ServerChanged {
        name: ServerName,
    },
    ServerRemoved {
        name: ServerName,
    },
    StateChanged {
        name: ServerName,
        at_ms: UnixMillis,
        status: ServerState,
    },
    /// A client's config lost or changed entries Switchboard wrote (the client rewrote the
    /// file, or the user edited it); `reapplied` says whether they were written back.
    ClientDrifted {
        client: String,
        path: String,
        entries: Vec<String>,
        reapplied: bool,
    },
    /// A running server did not answer a request the gateway made on its own (an aggregate
    /// list) within `waited_ms`; the aggregate answered without it or with its last list.
    ServerUnresponsive {
        name: ServerName,
        method: String,
        waited_ms: u64,
    },
    /// The daemon could not write records (or writes them again: `problem` is `None`).
    RecordsUnwritten {
        records: UnwrittenRecords,
    },
}

impl Event {
    /// The SSE `event:` field for this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ServerAdded { .. } => "server_added",
            Self::ServerChanged { .. } => "server_changed",
            Self::ServerRemoved { .. } => "server_removed",
            Self::StateChanged { .. } => "state_changed",
            Self::ClientDrifted { .. } => "client_drifted",
            Self::ServerUnresponsive { .. } => "server_unresponsive",
            Self::RecordsUnwritten { .. } => "records_unwritten",
        }
    }
}

/// A client allowed to use the gateway (`GET /api/v1/tokens`). Its token is never shown again.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TokenView {
    pub name: String,
    pub created_at_ms: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<UnixMillis>,
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

/// How a tool call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A result without `isError`.
    Ok,
    /// A result the tool marked `isError`.
    ToolError,
    /// A JSON-RPC error (unknown tool, bad arguments, server failure).
    Error,
    /// The client cancelled it or went away.
    Cancelled,
}

/// One tool call through the gateway (`GET /api/v1/history`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct CallRecord {
    pub id: i64,
    pub at_ms: UnixMillis,
    pub client: String,
    pub server: String,
    pub tool: String,
    pub duration_ms: u64,
    pub outcome: CallOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Present only when payload recording is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
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

/// Body of `POST /api/v1/clients/undo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UndoClients {
    /// Undo the last change to this client's files; `None` for the last change to any.
    pub client: Option<String>,
}

/// Optional body of `POST /api/v1/servers/{name}/login`: a client the user registered with the
/// server's authorization server. The daemon keeps it in the keychain, bound to that issuer.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartLogin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for StartLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartLogin")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Answer of `POST /api/v1/servers/{name}/login`: the page to sign in at. The daemon waits for
/// the browser's redirect on a loopback port of its own.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct LoginStarted {
    pub authorization_url: String,
}

/// A secret a server's spec refers to (`GET /api/v1/servers/{name}/secrets`): never its value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SecretView {
    /// The env var (or header, for a remote server) it fills.
    pub name: String,
    /// Its name in the keychain.
    pub key: String,
    /// Whether the keychain has a value for it.
    pub set: bool,
}

/// Body of `PUT /api/v1/servers/{name}/secrets/{secret}`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SetSecret {
    pub value: String,
}

impl std::fmt::Debug for SetSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetSecret { value: <redacted> }")
    }
}

/// One input a server needs: the form the CLI prompts through and the UI renders.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InputField {
    /// The name `--set KEY=VALUE` uses: an env var, header, flag, value hint or variable.
    pub key: String,
    pub place: InputPlace,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    /// Its value goes to the keychain and is shown only as set or missing.
    pub secret: bool,
    pub format: InputFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// It may be given several times (a list of directories, say).
    pub repeated: bool,
}

/// Where an input's value ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum InputPlace {
    Env,
    Header,
    Argument,
    /// Part of another value: a `{variable}` in an argument, header or URL, or a bundle setting.
    Variable,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    String,
    Number,
    Boolean,
    Filepath,
}

/// A server as the registry lists it: one version, normally the latest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryServer {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    pub is_latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Ways to run it: `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http`, `sse`.
    pub sources: Vec<String>,
    /// Local servers installed from it.
    pub installed_as: Vec<String>,
    /// Why it cannot be installed as published (a schema violation naming the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Departures from the schema that do not stop an install (an over-long description, an
    /// unknown field), each naming the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `GET /api/v1/registry/servers?search=TERM`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistrySearch {
    pub registry: String,
    pub servers: Vec<RegistryServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at_ms: Option<UnixMillis>,
    /// Set when the registry could not be reached and the cache answered: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
}

/// `GET /api/v1/registry/servers/{name}[?version=V]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryDetail {
    pub server: RegistryServer,
    pub versions: Vec<RegistryVersion>,
    /// Every way to run this version, with the inputs each needs.
    pub sources: Vec<InstallSource>,
    /// The server.json as published.
    pub document: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryVersion {
    pub version: String,
    pub status: String,
    pub is_latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InstallSource {
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`.
    pub kind: String,
    /// Its package or identifier (a URL for remotes and bundles).
    pub target: String,
    pub fields: Vec<InputField>,
    /// Why it cannot run on this machine (a runtime missing), if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The one an install picks when none is asked for.
    pub selected: bool,
}

/// Body of `POST /api/v1/install`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct InstallServer {
    /// The registry name, e.g. `io.github.modelcontextprotocol/server-time`.
    pub name: String,
    /// An exact version; the latest when absent.
    pub version: Option<String>,
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`; the first that can
    /// run here when absent.
    pub source: Option<String>,
    /// The local server name; derived from the registry name when absent.
    #[serde(rename = "as")]
    pub as_name: Option<ServerName>,
    /// Input values by field key; repeated fields take several.
    pub values: BTreeMap<String, Vec<String>>,
    /// Add it stopped rather than started.
    pub disabled: bool,
    pub dry_run: bool,
    /// Container runtime flags (`--volume`, `--privileged`…) the document asks for that reach
    /// beyond the container, which the user allows; without them such a document is refused.
    pub allow_runtime_args: Vec<String>,
    /// Run the npm package's install scripts (off by default: `npm install --ignore-scripts`).
    pub allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today, not as of the version's publish
    /// time (the default, where the registry gives that time).
    pub latest_deps: bool,
}

/// Answer of `POST /api/v1/install`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InstallReport {
    pub name: String,
    pub version: String,
    pub source: String,
    /// The local server (absent on a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerView>,
    /// What was fetched and where it was pinned, in words.
    pub fetched: String,
    pub warnings: Vec<String>,
    pub dry_run: bool,
}

/// Body of `POST /api/v1/servers/{name}/update`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UpdateServer {
    /// An exact version; the latest when absent.
    pub version: Option<String>,
    /// Values for inputs the new version adds, by field key.
    pub values: BTreeMap<String, Vec<String>>,
    pub dry_run: bool,
    /// Container runtime flags to allow beyond those allowed at install (see [`InstallServer`]).
    pub allow_runtime_args: Vec<String>,
    /// Run the npm package's install scripts from now on.
    pub allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today, not as of the new version's
    /// publish time, from now on (an install with `latest_deps` keeps it too).
    pub latest_deps: bool,
}

/// Answer of `POST /api/v1/servers/{name}/update`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UpdateReport {
    pub server: ServerName,
    pub from: String,
    pub to: String,
    pub outcome: UpdateOutcome,
    pub inputs: InputChanges,
    /// Tools the new version listed in its health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<u32>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOutcome {
    UpToDate,
    Updated,
    /// A dry run found a newer version.
    Available,
}

/// How the inputs of two versions differ, by field key.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InputChanges {
    /// Required in the new version and not in the old.
    pub newly_required: Vec<String>,
    /// New in the new version and optional.
    pub added: Vec<String>,
    /// In the old version only; their values are dropped.
    pub removed: Vec<String>,
}

/// `GET /api/v1/doctor`: what the daemon finds on this machine.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DoctorReport {
    pub runtimes: Vec<RuntimeCheck>,
    pub login_shell: ShellCheck,
    pub registry: RegistryCheck,
    pub secrets: SecretsCheck,
    pub store: StoreCheck,
}

/// The database and its newest automatic backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct StoreCheck {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_ms: Option<UnixMillis>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SecretsCheck {
    /// Where secret values live, in words.
    pub store: String,
    /// Why it cannot be used now, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RuntimeCheck {
    /// `node`, `npm`, `uv`, `python`, `docker`, `podman` or `dnx`.
    pub runtime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was found: `PATH`, `login shell`, or a version manager's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_via: Option<String>,
    /// Package types that need it.
    pub needed_by: Vec<String>,
    /// How to install it, when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ShellCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Directories the login shell's PATH adds to the daemon's own.
    pub added_dirs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryCheck {
    pub url: String,
    pub cached_versions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at_ms: Option<UnixMillis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// `GET /api/v1/tailnet`: this machine's Tailscale, as its LocalAPI reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TailnetStatus {
    pub state: TailnetState,
    /// The node's short name and full MagicDNS name, once logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tailnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What is wrong and how to fix it, when the state is not `running` or a tailnet
    /// listener could not be opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The port tailnet peers reach this node's Switchboard on.
    pub port: u16,
    /// Where the tailnet listener is open (`IP:PORT`): this node's Tailscale addresses while
    /// Tailscale runs and a server is exposed, else nowhere.
    pub listening: Vec<String>,
    /// Where Tailscale Serve offers the exposed servers over HTTPS, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    pub exposed: Vec<Exposure>,
}

/// `PUT /api/v1/tailnet/https`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct EnableHttps {
    /// The port of this node's MagicDNS name to serve on.
    #[serde(default = "https_port")]
    pub port: u16,
}

fn https_port() -> u16 {
    443
}

/// A server reachable from the tailnet, and by whom. This node's owner may always reach it;
/// `to` adds tailnet users (`user@example.com`) and tags (`tag:name`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Exposure {
    pub server: ServerName,
    #[serde(default)]
    pub to: Vec<String>,
}

/// `PUT /api/v1/servers/{name}/exposure`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Expose {
    #[serde(default)]
    pub to: Vec<String>,
}

/// What a Switchboard tells a tailnet peer at `/.well-known/switchboard` on its tailnet
/// listener: who it is and the servers that peer may reach.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PeerOffer {
    pub switchboard: String,
    pub host_name: String,
    pub servers: Vec<OfferedServer>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct OfferedServer {
    pub name: ServerName,
    /// Its Streamable HTTP endpoint, as a path on the same listener.
    pub path: String,
}

/// `GET /api/v1/tailnet/peers`: a tailnet peer that runs Switchboard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TailnetPeer {
    pub host_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// The address it was reached at.
    pub address: String,
    pub os: String,
    /// Its Switchboard version.
    pub switchboard: String,
    /// The servers it exposes to this node's user.
    pub servers: Vec<OfferedServer>,
}

/// `POST /api/v1/tailnet/remotes`: add a peer's exposed server as a server here.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AddRemote {
    /// The peer's host name, MagicDNS name or Tailscale address.
    pub peer: String,
    pub server: ServerName,
    /// The name here; the peer's name for it when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ServerName>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum TailnetState {
    Running,
    NeedsLogin,
    /// Logged in but switched off (`tailscale down`), starting, or waiting for an admin.
    Stopped,
    /// No tailscaled answers on its socket: not installed, or not running.
    NotRunning,
}
