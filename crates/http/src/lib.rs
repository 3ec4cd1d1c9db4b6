//! What every listener of the daemon shares, below all of them: the [`door`] (which `Host` and
//! `Origin` a request may carry, and its bearer token) and [`serve`] (the rules every HTTP
//! connection is held to).
//!
//! Routes and who a token belongs to are each listener's own: the API, the gateway, the
//! dashboard and the tailnet listener.

pub mod door;
pub mod serve;
