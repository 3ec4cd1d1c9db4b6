//! Credentials, in one room: [`secrets`] is the only code that touches the OS keychain, and
//! [`oauth`] signs in to remote servers and owns their tokens (kept there too).
//!
//! It routes no HTTP and spawns nothing (its only listener is the loopback redirect a login
//! waits on): the daemon publishes the OAuth client metadata document and routes the login API, the supervisor asks for headers and tokens when it
//! starts a server, and a remote's link asks for a bearer through `Credentials`.

pub mod oauth;
pub mod seal;
pub mod secrets;
