//! Tailscale: this node's tailnet status, HTTPS through Serve, servers exposed to the
//! tailnet, what peers offer, and adding a peer's server here.
//!
//! Shapes only; talking to tailscaled is `switchboard-tailnet`'s.

use crate::ServerName;

/// `GET /api/v1/tailnet`: this machine's Tailscale, as its LocalAPI reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TailnetStatus {
    pub state: TailnetState,
    /// The node's short name and full MagicDNS name, once logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tailnet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What is wrong and how to fix it, when the state is not `running` or a tailnet
    /// listener could not be opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The port tailnet peers reach this node's Switchboard on.
    pub port: u16,
    /// Where the tailnet listener is open (`IP:PORT`): this node's Tailscale addresses while
    /// Tailscale runs and a server is exposed, else nowhere.
    pub listening: Vec<String>,
    /// Where Tailscale Serve offers the exposed servers over HTTPS, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<String>,
    pub exposed: Vec<Exposure>,
}

/// `PUT /api/v1/tailnet/https`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct EnableHttps {
    /// The port of this node's MagicDNS name to serve on.
    #[serde(default = "https_port")]
    pub port: u16,
}

fn https_port() -> u16 {
    443
}

/// A server reachable from the tailnet, and by whom. This node's owner may always reach it;
/// `to` adds tailnet users (`user@example.com`) and tags (`tag:name`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Exposure {
    pub server: ServerName,
    #[serde(default)]
    pub to: Vec<String>,
}

/// `PUT /api/v1/servers/{name}/exposure`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Expose {
    #[serde(default)]
    pub to: Vec<String>,
}

/// What a Switchboard tells a tailnet peer at `/.well-known/switchboard` on its tailnet
/// listener: who it is and the servers that peer may reach.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PeerOffer {
    pub switchboard: String,
    pub host_name: String,
    pub servers: Vec<OfferedServer>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct OfferedServer {
    pub name: ServerName,
    /// Its Streamable HTTP endpoint, as a path on the same listener.
    pub path: String,
}

/// `GET /api/v1/tailnet/peers`: a tailnet peer that runs Switchboard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct TailnetPeer {
    pub host_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// The address it was reached at.
    pub address: String,
    pub os: String,
    /// Its Switchboard version.
    pub switchboard: String,
    /// The servers it exposes to this node's user.
    pub servers: Vec<OfferedServer>,
}

/// `POST /api/v1/tailnet/remotes`: add a peer's exposed server as a server here.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AddRemote {
    /// The peer's host name, MagicDNS name or Tailscale address.
    pub peer: String,
    pub server: ServerName,
    /// The name here; the peer's name for it when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ServerName>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum TailnetState {
    Running,
    NeedsLogin,
    /// Logged in but switched off (`tailscale down`), starting, or waiting for an admin.
    Stopped,
    /// No tailscaled answers on its socket, though Tailscale is installed (or was seen running).
    NotRunning,
    /// No tailscaled answers, and no Tailscale program is installed where this OS keeps it.
    NotInstalled,
}
