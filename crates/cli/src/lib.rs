//! The library half of the `switchboard` package: [`client`], the one way to the daemon's
//! control API, shared by the CLI and the desktop app's tray so both see the daemon the same way.
//! It is the `switchboard-client` crate; the alias keeps the CLI's `switchboard::client` paths.

pub use switchboard_client as client;
