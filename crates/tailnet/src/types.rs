//! What the LocalAPI answers, read tolerantly.
//!
//! Only the fields Switchboard uses are typed; every one is optional or defaulted, because
//! daemons of different versions omit different ones (a logged-out daemon sends `null` for
//! most). Unknown fields are ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `GET /localapi/v0/status`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Status {
    pub version: String,
    pub backend_state: BackendState,
    #[serde(rename = "AuthURL")]
    pub auth_url: String,
    #[serde(rename = "TailscaleIPs", deserialize_with = "null_as_default")]
    pub tailscale_ips: Vec<String>,
    #[serde(rename = "Self")]
    pub self_node: Option<Node>,
    #[serde(deserialize_with = "null_as_default")]
    pub peer: BTreeMap<String, Node>,
    #[serde(deserialize_with = "null_as_default")]
    pub user: BTreeMap<String, UserProfile>,
    pub current_tailnet: Option<Tailnet>,
    #[serde(rename = "MagicDNSSuffix")]
    pub magic_dns_suffix: String,
}

/// Where the daemon is in its life: only `Running` has a tailnet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum BackendState {
    NoState,
    NeedsLogin,
    NeedsMachineAuth,
    Stopped,
    Starting,
    Running,
    /// A state this build does not know.
    #[default]
    #[serde(other)]
    Unknown,
}

/// A node as status lists it (this one, or a peer).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Node {
    #[serde(rename = "ID")]
    pub id: String,
    pub host_name: String,
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    #[serde(rename = "OS")]
    pub os: String,
    #[serde(rename = "UserID")]
    pub user_id: i64,
    #[serde(rename = "TailscaleIPs", deserialize_with = "null_as_default")]
    pub tailscale_ips: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    pub online: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tailnet {
    pub name: String,
    #[serde(rename = "MagicDNSSuffix")]
    pub magic_dns_suffix: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UserProfile {
    #[serde(rename = "ID")]
    pub id: i64,
    pub login_name: String,
    pub display_name: String,
}

/// `GET /localapi/v0/whois?addr=IP:PORT`: who is behind a tailnet connection.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WhoIs {
    pub node: WhoIsNode,
    pub user_profile: UserProfile,
    /// Capabilities granted by the tailnet policy, by name (current daemons' `CapMap`).
    #[serde(deserialize_with = "null_as_default")]
    pub cap_map: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WhoIsNode {
    #[serde(rename = "StableID")]
    pub stable_id: String,
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub addresses: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
}

impl WhoIs {
    /// The identity an allow-list names: the node's tags when it has any (a tagged node acts
    /// for no user), else its user's login.
    pub fn identities(&self) -> Vec<String> {
        if self.node.tags.is_empty() {
            vec![self.user_profile.login_name.clone()]
        } else {
            self.node.tags.clone()
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn a_logged_out_daemon_is_read() {
        let status: Status =
            serde_json::from_str(&fixture("real-1.96.4-status-needslogin.json")).expect("status");
        assert_eq!(status.backend_state, BackendState::NeedsLogin);
        assert!(status.tailscale_ips.is_empty() && status.peer.is_empty());
        assert!(status.version.starts_with("1.96.4"));
    }

    #[test]
    fn a_running_node_and_its_peers_are_read() {
        let status: Status = serde_json::from_str(&fixture("synthetic-status-running.json")).expect("status");
        assert_eq!(status.backend_state, BackendState::Running);
        let me = status.self_node.expect("self");
        assert_eq!(me.host_name, "homebox");
        assert_eq!(me.tailscale_ips[0], "100.101.102.103");
        assert_eq!(status.peer.len(), 2);
        assert_eq!(status.current_tailnet.expect("tailnet").name, "alice@example.com");
        assert_eq!(
            status.user[&me.user_id.to_string()].login_name,
            "alice@example.com"
        );
    }

    #[test]
    fn whois_names_a_user_or_a_tag() {
        let user: WhoIs = serde_json::from_str(&fixture("synthetic-whois-user.json")).expect("whois");
        assert_eq!(user.identities(), ["alice@example.com"]);
        assert!(user.cap_map.contains_key("example.com/cap/mcp-gateway"));
        let tagged: WhoIs = serde_json::from_str(&fixture("synthetic-whois-tagged.json")).expect("whois");
        assert_eq!(tagged.identities(), ["tag:ci"]);
    }
}
