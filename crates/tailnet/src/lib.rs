//! Tailscale, as Switchboard sees it: the local daemon's LocalAPI.
//!
//! [`localapi`] talks to tailscaled wherever this OS keeps its LocalAPI (a Unix socket, the
//! Windows named pipe, or the macOS apps' loopback port with its token): status, whois and
//! serve-config (read with its ETag, and replaced with `If-Match`), every failure typed by what
//! it means (not running, permission, conflict, unknown peer, logged out). [`types`] reads what
//! real daemons send, tolerating fields they omit or add. Exposure policy, the tailnet listener
//! and peer discovery are the daemon's; nothing here listens or leaves this machine.

pub mod localapi;
pub mod types;

pub use localapi::{Endpoint, LocalApi, LocalApiError};
pub use types::{BackendState, Node, Status, UserProfile, WhoIs};
