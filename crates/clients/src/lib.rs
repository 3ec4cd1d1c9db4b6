//! The config files of AI clients (Claude Desktop, Cursor, VS Code, Zed, Codex…), edited so
//! that only Switchboard's entries change.
//!
//! [`catalog`] knows every client: its files per OS, format, root key and entry shapes, and
//! how to tell it is installed. [`entry`] renders the entries pointing at the gateway in each
//! client's key names and reads the entries already there. [`jsonc`], [`toml`] and [`yaml`]
//! edit documents in place, keeping comments, order, whitespace, CRLF and a BOM byte for byte;
//! [`config`] puts them behind one interface of named entries under a root key. [`write`]
//! replaces a file only if it still holds what was read, atomically, keeping its mode and
//! symlinks, and waits for clients' lock directories.
//!
//! Which entries a client should have, ownership records, the journal and drift watching
//! belong to the daemon, which calls this crate. Nothing here uses the network.

pub mod catalog;
pub mod config;
pub mod entry;
pub mod env;
pub mod jsonc;
pub mod plan;
pub mod toml;
pub mod write;
pub mod yaml;

/// Why a text is not a valid document of its format; `line` and `column` count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why an edit cannot be made to a document that parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("the document is not a map at its top level, so it has no member `{key}`")]
    RootNotObject { key: String },
    #[error("`{path}` is not a map, so a member cannot be set inside it; fix or remove it by hand")]
    NotAnObject { path: String },
    #[error("an edit needs a key path; none was given")]
    EmptyPath,
    #[error("`{path}` is written in a form Switchboard does not edit ({why}); add the entry by hand")]
    Unsupported { path: String, why: &'static str },
}
