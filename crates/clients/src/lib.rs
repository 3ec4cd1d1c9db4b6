//! The config files of AI clients (Claude Desktop, Cursor, VS Code, Zed, Codex…), edited so
//! that only Switchboard's entries change.
//!
//! [`jsonc`] edits JSON and JSON-with-comments files in place: comments, order, whitespace,
//! trailing commas, CRLF and a BOM stay as they were, byte for byte. The per-client adapters
//! (paths, root keys, entry shapes), the TOML and YAML editors and the safe writer are not
//! written yet. Nothing here touches the file system or the network.

pub mod jsonc;
