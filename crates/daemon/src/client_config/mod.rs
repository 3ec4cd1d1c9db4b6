//! Wiring AI clients to the gateway: connect, disconnect, import and undo on their config
//! files, the journal of every write, and drift watching.
//!
//! This module owns the decisions around a write: which token a client presents (its own,
//! kept across reconnects), which entries it gets, what Switchboard owns in each file (names
//! and hashes in SQLite), the journal (bytes before and after each write, as owner-only files
//! beside the database, never in it, since a client's file may hold the user's credentials),
//! and noticing when a client or the user removes Switchboard's entries. Where the files are
//! and how they are edited is `switchboard_clients`'; nothing here parses a config format.
//!
//! Operations on client files run one at a time. File I/O is blocking and runs on the
//! blocking pool.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use switchboard_clients::catalog::{self, Client, Reload};
use switchboard_clients::config::Config;
use switchboard_clients::entry::Gateway as Entries;
use switchboard_clients::env::Env;
use switchboard_clients::plan::{self, Change, Ownership, PlanError};
use switchboard_clients::write::{self, UpdateError, WriteError};
use switchboard_credentials::seal::Seal;
use switchboard_credentials::secrets;
use switchboard_gateway::{AccessError, Gateway};
use switchboard_model::api::{AppClient, AppClientFile, EntryChange, Wiring};
use switchboard_store::StoreError;
use tokio::sync::mpsc;

use crate::control::{Control, ControlError};

mod apply;
mod drift;
mod import;
mod journal;
mod recover;
mod setup;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    #[error("no client called {0}; `switchboard clients` lists the ids")]
    UnknownClient(String),
    #[error("{client} has no config file on this operating system, so it cannot be connected")]
    NoFileHere { client: String },
    #[error("no server named {0}; `switchboard ls` lists them")]
    UnknownServer(String),
    #[error("cannot find a home directory to look for clients' files in; set HOME (USERPROFILE on Windows)")]
    NoHome,
    #[error(
        "{path}: line {line}, column {column}: {message}; fix the file (or move it aside) and try again; it was not changed"
    )]
    Unparseable {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path} is not UTF-8 text; it was not changed")]
    NotText { path: String },
    #[error("{path}: {source}; it was not changed")]
    Edit {
        path: String,
        source: switchboard_clients::EditError,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot keep the journal in {path}: {source}; check free space and permissions")]
    Journal { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Seal(#[from] switchboard_credentials::seal::SealError),
    #[error("nothing to undo{}", .client.as_ref().map(|c| format!(" for {c}")).unwrap_or_default())]
    NothingToUndo { client: Option<String> },
    #[error(
        "{path} changed since Switchboard wrote it, so undoing would lose those changes; nothing was restored"
    )]
    ChangedSince { path: String },
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Secrets(#[from] switchboard_credentials::secrets::SecretsError),
    #[error("a file operation stopped unexpectedly: {0}")]
    Task(String),
}

/// What an operation on a client's files is, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Connect,
    Disconnect,
    /// Replacing the user's entries by the gateway's after adopting their servers.
    Import,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Connect => "connect",
            Action::Disconnect => "disconnect",
            Action::Import => "import",
        }
    }
}

impl From<UpdateError<ClientConfigError>> for ClientConfigError {
    fn from(error: UpdateError<ClientConfigError>) -> Self {
        match error {
            UpdateError::Write(w) => Self::Write(w),
            UpdateError::Edit(e) => e,
        }
    }
}

/// The AI clients of the machine the daemon runs on, and the operations on their files.
#[derive(Debug)]
pub struct ClientConfigs {
    control: Arc<Control>,
    gateway: Arc<Gateway>,
    /// The machine (home, variables) whose clients are wired.
    env: Env,
    /// How entries reach this daemon's gateway.
    entries: Entries,
    journal_dir: PathBuf,
    /// The journal's sealing key, loaded from the secret store at the first write that needs it.
    seal: tokio::sync::OnceCell<Seal>,
    /// One operation on client files at a time.
    busy: Arc<tokio::sync::Mutex<()>>,
    /// Tells the drift watcher to look at a new set of files.
    rewatch: mpsc::UnboundedSender<()>,
    rewatch_rx: Mutex<Option<mpsc::UnboundedReceiver<()>>>,
}

impl ClientConfigs {
    /// `program` is the `switchboard` executable (the stdio shim), `data_dir` the daemon's.
    pub fn new(
        control: Arc<Control>,
        gateway: Arc<Gateway>,
        port: u16,
        program: &Path,
        data_dir: &Path,
        journal_dir: PathBuf,
    ) -> Result<Arc<Self>, ClientConfigError> {
        let env = Env::current().ok_or(ClientConfigError::NoHome)?;
        let entries = Entries {
            base_url: format!("http://127.0.0.1:{port}"),
            shim_program: program.display().to_string(),
            // GUI clients start the shim with their own environment; it must still find us.
            shim_env: BTreeMap::from([("SWITCHBOARD_HOME".to_owned(), data_dir.display().to_string())]),
        };
        let (rewatch, rewatch_rx) = mpsc::unbounded_channel();
        Ok(Arc::new(Self {
            control,
            gateway,
            env,
            entries,
            journal_dir,
            seal: tokio::sync::OnceCell::new(),
            busy: Arc::new(tokio::sync::Mutex::new(())),
            rewatch,
            rewatch_rx: Mutex::new(Some(rewatch_rx)),
        }))
    }

    fn client(id: &str) -> Result<&'static Client, ClientConfigError> {
        catalog::find(id).ok_or_else(|| ClientConfigError::UnknownClient(id.to_owned()))
    }

    /// The files of `client` to write: those it reads here, and any Switchboard wrote before.
    async fn files_of(&self, client: &Client) -> Result<Vec<(PathBuf, Ownership)>, ClientConfigError> {
        let mut owned: BTreeMap<String, Ownership> = self
            .control
            .store()
            .owned_files(client.id)
            .await?
            .into_iter()
            .collect();
        let mut files: Vec<(PathBuf, Ownership)> = client
            .files(&self.env)
            .into_iter()
            .map(|p| {
                let ownership = owned.remove(p.as_str()).unwrap_or_default();
                (p.to_path_buf(), ownership)
            })
            .collect();
        files.extend(owned.into_iter().map(|(p, o)| (PathBuf::from(p), o)));
        Ok(files)
    }

    /// Every known client, whether it is installed and running, and the state of its files.
    pub async fn list(&self) -> Result<Vec<AppClient>, ClientConfigError> {
        let wirings: HashMap<String, Wiring> = self.control.store().wirings().await?.into_iter().collect();
        let running = tokio::task::spawn_blocking(running_processes)
            .await
            .map_err(|e| ClientConfigError::Task(e.to_string()))?;
        // What the tools of each connected client cost, from one listing of every server's.
        let wired: Vec<&str> = wirings.keys().map(String::as_str).collect();
        let costs: HashMap<&str, _> = wired
            .iter()
            .copied()
            .zip(self.gateway.tool_costs(&wired).await)
            .collect();
        let mut out = Vec::new();
        for client in catalog::all() {
            let files = self.files_of(client).await?;
            let mut views = Vec::new();
            for (path, ownership) in files {
                views.push(self.inspect(client, &path, &ownership).await?);
            }
            let installed = client.detect(&self.env).map(|evidence| match evidence {
                catalog::Evidence::Program(p) => format!("program {p}"),
                catalog::Evidence::App(p) => format!("app {p}"),
                catalog::Evidence::Config(p) => format!("config {p}"),
            });
            let wiring = wirings.get(client.id).cloned();
            let cost = costs.get(client.id).copied().flatten();
            out.push(AppClient {
                id: client.id.to_owned(),
                name: client.name.to_owned(),
                installed,
                running: client.processes.iter().any(|p| running.contains(*p)),
                http_native: client.http_native(),
                reload: reload_word(client.reload).to_owned(),
                deprecated: client.deprecated.map(str::to_owned),
                wiring,
                cost,
                files: views,
            });
        }
        Ok(out)
    }

    async fn inspect(
        &self,
        client: &'static Client,
        path: &Path,
        ownership: &Ownership,
    ) -> Result<AppClientFile, ClientConfigError> {
        let bytes = read_file(path).await?;
        let mut view = AppClientFile {
            path: path.display().to_string(),
            exists: bytes.is_some(),
            entries: Vec::new(),
            drifted: Vec::new(),
            foreign: Vec::new(),
            error: None,
        };
        let config = match parse(client, path, bytes.as_deref()) {
            Ok(config) => config,
            Err(e) => {
                view.error = Some(e.to_string());
                return Ok(view);
            }
        };
        let present: BTreeMap<String, serde_json::Value> = config.entries(client).into_iter().collect();
        for owned in &ownership.entries {
            match present.get(&owned.name) {
                Some(value) if plan::entry_hash(value) == owned.sha256 => {
                    view.entries.push(owned.name.clone())
                }
                _ => view.drifted.push(owned.name.clone()),
            }
        }
        view.foreign = present
            .iter()
            .filter(|(name, value)| {
                ownership.entries.iter().all(|o| &o.name != *name) && !self.entries.is_ours(client, value)
            })
            .map(|(name, _)| name.clone())
            .collect();
        Ok(view)
    }
}

async fn read_file(path: &Path) -> Result<Option<Vec<u8>>, ClientConfigError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || write::read(&path).map(|s| s.bytes))
        .await
        .map_err(|e| ClientConfigError::Task(e.to_string()))?
        .map_err(ClientConfigError::Write)
}

fn text_of<'b>(path: &Path, bytes: Option<&'b [u8]>) -> Result<Option<&'b str>, ClientConfigError> {
    bytes
        .map(|b| std::str::from_utf8(b))
        .transpose()
        .map_err(|_| ClientConfigError::NotText {
            path: path.display().to_string(),
        })
}

fn parse(client: &Client, path: &Path, bytes: Option<&[u8]>) -> Result<Config, ClientConfigError> {
    let text = text_of(path, bytes)?;
    Config::parse(client.format, text).map_err(|e| ClientConfigError::Unparseable {
        path: path.display().to_string(),
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

fn plan_error(path: &Path, error: PlanError) -> ClientConfigError {
    let path = path.display().to_string();
    match error {
        PlanError::Parse(e) => ClientConfigError::Unparseable {
            path,
            line: e.line,
            column: e.column,
            message: e.message,
        },
        PlanError::Edit(source) => ClientConfigError::Edit { path, source },
        other => ClientConfigError::Task(other.to_string()),
    }
}

fn entry_changes(changes: &[Change]) -> Vec<EntryChange> {
    changes
        .iter()
        .map(|change| {
            let (entry, word) = match change {
                Change::Added(e) => (e, "added"),
                Change::Updated(e) => (e, "updated"),
                Change::Unchanged(e) => (e, "unchanged"),
                Change::Removed(e) => (e, "removed"),
                Change::KeptForeign(e) => (e, "kept-foreign"),
                Change::KeptEdited(e) => (e, "kept-edited"),
            };
            EntryChange {
                entry: entry.clone(),
                change: word.to_owned(),
            }
        })
        .collect()
}

/// Replaces client tokens (`sbc_` and 64 hex digits) in text shown to people.
fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("sbc_") {
        let after = &rest[at + 4..];
        let hex = after.bytes().take_while(u8::is_ascii_hexdigit).count();
        out.push_str(&rest[..at + 4]);
        if hex >= 64 {
            out.push('…');
            rest = &after[hex..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The values of credential-named variables and headers in a client's file: the user's keys,
/// which a preview may show leaving the file and the page showing it need not see.
fn credential_values(client: &Client, before: Option<&str>) -> Vec<String> {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        let serde_json::Value::Object(members) = value else {
            if let serde_json::Value::Array(items) = value {
                items.iter().for_each(|item| walk(item, found));
            }
            return;
        };
        for (key, value) in members {
            match value {
                serde_json::Value::String(text) if secrets::looks_like_credential(key) => {
                    found.push(text.clone())
                }
                other => walk(other, found),
            }
        }
    }
    let Ok(config) = Config::parse(client.format, before) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (_, entry) in config.entries(client) {
        walk(&entry, &mut found);
    }
    // Switchboard's own tokens are masked by [`mask_tokens`]; very short values would hide
    // unrelated text.
    found.retain(|v| v.len() >= 6 && !v.contains("sbc_"));
    found
}

/// Hides each of `values` wherever it appears in `text`, in any of the files' spellings
/// (as written, or JSON-escaped).
fn mask_values(text: &str, values: &[String]) -> String {
    let mut masked = text.to_owned();
    for value in values {
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        for spelling in [value.as_str(), escaped] {
            if !spelling.is_empty() {
                masked = masked.replace(spelling, "<hidden>");
            }
        }
    }
    masked
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn reload_word(reload: Reload) -> &'static str {
    match reload {
        Reload::Live => "live",
        Reload::Refresh => "refresh",
        Reload::Restart => "restart",
        Reload::NewSession => "new-session",
    }
}

/// What the user must do for the client to load a changed config.
fn next_step(client: &Client, running: bool) -> Option<String> {
    let name = client.name;
    match client.reload {
        Reload::Live => None,
        Reload::Refresh => Some(format!(
            "press refresh in {name}'s MCP settings to load the change"
        )),
        Reload::Restart if running => Some(format!(
            "{name} is running: quit it completely and start it again to load the change"
        )),
        Reload::Restart => Some(format!("{name} loads the change when it next starts")),
        Reload::NewSession => Some(format!(
            "new {name} sessions use the change; running ones keep their servers"
        )),
    }
}

/// The names of the processes running now.
fn running_processes() -> BTreeSet<String> {
    let Ok(mut system) = sysinfo::System::new() else {
        return BTreeSet::new();
    };
    system.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::All,
        true,
        sysinfo::ProcessRefreshKind::nothing(),
    );
    system
        .processes()
        .values()
        .map(|p| p.name().to_string_lossy().into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_values_are_hidden_in_diffs_however_the_file_spells_them() {
        let client = |id| catalog::find(id).unwrap();
        let compact = r#"{"mcpServers":{"b":{"command":"x","env":{"BRAVE_API_KEY":"brave-123456","MODE":"fast-mode"}},"r":{"url":"https://x","headers":{"Authorization":"Bearer tok-98765"}}}}"#;
        let found = credential_values(client("cursor"), Some(compact));
        assert_eq!(found, ["brave-123456", "Bearer tok-98765"]);
        let diff = format!("-{compact}\n+{{}}\n");
        let masked = mask_values(&diff, &found);
        assert!(
            !masked.contains("brave-123456") && !masked.contains("tok-98765"),
            "{masked}"
        );
        assert!(
            masked.contains("fast-mode"),
            "only credentials are hidden: {masked}"
        );

        let toml = "[mcp_servers.b]\ncommand = \"x\"\nenv = { GITHUB_TOKEN = \"ghp_abcdef\" }\n";
        let found = credential_values(client("codex"), Some(toml));
        assert_eq!(found, ["ghp_abcdef"]);
        assert!(!mask_values(&format!("-{toml}"), &found).contains("ghp_abcdef"));
    }

    #[test]
    fn tokens_are_masked_in_diffs() {
        let token = format!("sbc_{}", "ab12".repeat(16));
        let text = format!("+ \"Authorization\": \"Bearer {token}\"\n- sbc_short");
        assert_eq!(
            mask_tokens(&text),
            "+ \"Authorization\": \"Bearer sbc_…\"\n- sbc_short"
        );
    }
}
