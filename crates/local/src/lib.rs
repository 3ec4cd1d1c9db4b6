//! What the daemon and its clients (the CLI, the desktop app) share to find each other on
//! this machine: the [`paths`] of the data directory and the files in it, the control
//! [`token`] a client presents, and the [`address`] record (`daemon.json`) naming the port of
//! the running daemon, and the [`service`] definition that keeps a daemon running under the
//! OS's service manager.
//!
//! It holds no server code: no store, no listener, no keychain. A client links this crate and
//! `switchboard-client`, never the daemon. Only the daemon decides whether a presented token is
//! right (`switchboard_daemon::token`).

pub mod address;
pub mod paths;
pub mod service;
pub mod token;
