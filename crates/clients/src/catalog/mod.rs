//! Every AI client Switchboard can wire: where its MCP config lives on each OS, the file's
//! format and root key, the shape of its entries, how to tell it is installed, and what it
//! takes for the client to notice a change.
//!
//! The facts come from the clients' own sources and docs; `tests/golden/` shows the result for
//! every client and OS and is the place to review a change. Paths are computed from an
//! [`Env`], honouring the variables each client honours, so they are tested for every OS on
//! any host. This module only describes;
//! rendering entries is [`crate::entry`]'s job and editing files is [`crate::config`]'s.
//!
//! The per-client facts are the table in `table` (with the path helpers several entries
//! share, in `paths`); this module holds their types and the lookups.

mod paths;
mod table;

use crate::env::{Env, OsPath};
use crate::write::ClientLock;
use table::CLIENTS;

/// A config file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Strict JSON: read leniently, but comments are never written into it.
    Json,
    /// JSON with comments and trailing commas.
    Jsonc,
    Toml,
    Yaml,
}

/// How the servers sit under the root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// An object keyed by server name (nearly every client).
    Map,
    /// A list of objects, each carrying its name in `name` (Continue).
    NamedList,
}

/// What the user must do before the client sees a changed config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reload {
    /// The client watches the file.
    Live,
    /// A refresh button in the client's MCP panel.
    Refresh,
    /// Quit the client completely and start it again.
    Restart,
    /// New sessions see the change; running ones keep their servers.
    NewSession,
}

/// A constant member every entry of a client carries (`"type": "stdio"`, `"enabled": true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixed {
    Str(&'static str),
    Bool(bool),
    Int(i64),
    StrList(&'static [&'static str]),
}

/// How a client writes the program it launches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKeys {
    /// The program in one key and its arguments in another.
    Split {
        program: &'static str,
        args: &'static str,
    },
    /// Program and arguments in one list (opencode).
    Argv(&'static str),
}

/// The keys of a client's entry for a local program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StdioShape {
    pub fixed: &'static [(&'static str, Fixed)],
    pub command: CommandKeys,
    pub env: &'static str,
}

/// The keys of a client's entry for a Streamable HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpShape {
    pub fixed: &'static [(&'static str, Fixed)],
    pub url: &'static str,
    /// Where the headers object sits inside the entry.
    pub headers: &'static [&'static str],
}

/// One AI client.
#[derive(Debug)]
pub struct Client {
    /// Stable identifier, used in commands, the API and token names.
    pub id: &'static str,
    pub name: &'static str,
    pub format: Format,
    pub root: &'static str,
    pub layout: Layout,
    /// Entries carry their own name under this key too (Goose, Continue).
    pub name_key: Option<&'static str>,
    pub stdio: StdioShape,
    /// `None` for clients that can only launch programs: they get the `connect` shim.
    pub http: Option<HttpShape>,
    pub reload: Reload,
    pub lock: ClientLock,
    /// Why the client should no longer be used, for clients that were retired.
    pub deprecated: Option<&'static str>,
    /// Process names that mean the client is running.
    pub processes: &'static [&'static str],
    /// Programs on PATH that mean the client is installed.
    programs: &'static [&'static str],
    /// The config files to write on a machine, best first.
    files: fn(&Env) -> Vec<OsPath>,
    /// App bundles and install directories that mean the client is installed.
    installs: fn(&Env) -> Vec<OsPath>,
}

/// Why a client is thought to be installed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "by", content = "path", rename_all = "kebab-case")]
pub enum Evidence {
    Program(String),
    App(String),
    /// Only its config file or folder exists: weak, but a user with the file wants it wired.
    Config(String),
}

impl Client {
    /// The config files this client reads on `env`'s machine, where Switchboard writes.
    pub fn files(&self, env: &Env) -> Vec<OsPath> {
        (self.files)(env)
    }

    /// Why the client looks installed on `env`'s machine, if it does.
    pub fn detect(&self, env: &Env) -> Option<Evidence> {
        if let Some(program) = self.programs.iter().find_map(|p| env.find_program(p)) {
            return Some(Evidence::Program(program.to_string()));
        }
        if let Some(app) = (self.installs)(env).into_iter().find(|p| env.exists(p)) {
            return Some(Evidence::App(app.to_string()));
        }
        // The file itself, or its folder when that folder is the client's own (never `~`).
        self.files(env).into_iter().find_map(|file| {
            let own_dir = file.parent().filter(|dir| *dir != env.home());
            if env.exists(&file) {
                Some(Evidence::Config(file.to_string()))
            } else {
                own_dir
                    .filter(|dir| env.exists(dir))
                    .map(|dir| Evidence::Config(dir.to_string()))
            }
        })
    }

    /// Whether the entry for `server` can be a URL (else it launches the shim).
    pub fn http_native(&self) -> bool {
        self.http.is_some()
    }
}

/// The client with this id.
pub fn find(id: &str) -> Option<&'static Client> {
    CLIENTS.iter().find(|c| c.id == id)
}

/// Every client, in the order they are listed to users.
pub fn all() -> &'static [Client] {
    CLIENTS
}
