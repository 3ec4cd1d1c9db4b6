//! Speaking MCP to one server, below every room that needs it: [`jsonrpc`] frames kept as the
//! bytes that arrived, [`upstream`]'s multiplexed connection to a running server with its
//! stdio, Streamable HTTP and legacy SSE links, and the [`logs`] a server writes.
//!
//! It knows nothing of sessions, routing, supervision or the keychain: the gateway routes
//! clients onto an `Upstream`, the supervisor makes and watches one per run, and OAuth plugs
//! in through the link's `Credentials`.

pub mod era;
pub mod jsonrpc;
pub mod logs;
pub mod upstream;
