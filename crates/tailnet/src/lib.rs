//! Tailscale, as Switchboard sees it: the local daemon's LocalAPI.
//!
//! [`localapi`] talks to tailscaled over its Unix socket: status, whois and serve-config (read
//! with its ETag, and replaced with `If-Match`), every failure typed by what it means (not
//! running, permission, conflict, unknown peer, logged out). [`types`] reads what real daemons
//! send, tolerating fields they omit or add. Exposure policy, the tailnet listener and peer
//! discovery are to be built on these; nothing here opens a network connection.

pub mod localapi;
pub mod types;

pub use localapi::{LocalApi, LocalApiError};
pub use types::{BackendState, Node, Status, UserProfile, WhoIs};
