//! The config files of AI clients (Claude Desktop, Cursor, VS Code, Zed, Codex…), edited so
//! that only Switchboard's entries change.
//!
//! [`jsonc`] edits JSON and JSON-with-comments files in place: comments, order, whitespace,
//! trailing commas, CRLF and a BOM stay as they were, byte for byte. [`write`] replaces a file
//! only if it still holds what was read, atomically, keeping its mode and symlinks, and waits
//! for clients' lock directories. The per-client adapters (paths, root keys, entry shapes) and
//! the TOML and YAML editors are not written yet. Nothing here uses the network.

pub mod jsonc;
pub mod write;
