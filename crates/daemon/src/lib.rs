//! The Switchboard daemon: it owns a person's MCP servers.
//!
//! [`daemon::run`] wires the parts: the data directory ([`switchboard_local`]), the SQLite store
//! ([`switchboard_store`]), the [`supervisor`] of server processes and its watchdog that ends
//! them if the daemon dies, the [`control`] layer that joins desired state to supervision, and
//! the [`api`] on loopback.
//! Nothing here depends on a GUI toolkit; the CLI and the desktop shell are clients of the API.

pub mod api;
pub mod bundle;
pub mod client_config;
pub mod control;
pub mod daemon;
pub mod install;
pub mod packages;
pub mod registry_cache;
pub mod runtime;
pub mod tailnet;
pub mod token;
pub mod web;
