//! The Switchboard daemon: it owns a person's MCP servers.
//!
//! [`daemon::run`] wires the rooms, each a crate of its own: the data directory
//! ([`switchboard_local`]), the SQLite store ([`switchboard_store`]), credentials
//! ([`switchboard_credentials`]), the supervisor of server processes and its watchdog
//! ([`switchboard_supervisor`]), the gateway ([`switchboard_gateway`]) and the listeners' door
//! ([`switchboard_http`]). What only the daemon does is here: the [`control`] layer that joins
//! desired state to supervision, the [`api`] on loopback, installs, client configs and the
//! tailnet.
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
pub mod wake;
pub mod web;
