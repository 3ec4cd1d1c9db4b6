//! Wire types of the control API (`/api/v1`), shared by the daemon and every client of it.
//!
//! These are the only shapes the CLI, the tray app and the web UI see. They never carry a
//! secret value: specs hold references, and nothing here is filled from the keychain.
//!
//! One file per domain: `servers`, `history` (runs, logs, tool calls), `daemon`,
//! `events`, `clients` (and their tokens), `profiles` (what each client is offered), `secrets` (and OAuth sign-in), `registry`
//! (and installs, updates, doctor) and `tailnet`. Every type is re-exported here, so paths
//! stay `switchboard_model::api::X`.

mod clients;
mod daemon;
mod events;
mod history;
mod profiles;
mod quarantine;
mod registry;
mod secrets;
mod servers;
mod tailnet;

pub use clients::*;
pub use daemon::*;
pub use events::*;
pub use history::*;
pub use profiles::*;
pub use quarantine::*;
pub use registry::*;
pub use secrets::*;
pub use servers::*;
pub use tailnet::*;
