//! The library half of the `switchboard` package: [`client`], the one way to the daemon's
//! control API, shared by the CLI and the desktop app's tray so both see the daemon the same way.

pub mod client;
