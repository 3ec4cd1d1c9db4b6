//! The laptop's side: tailnet peers that run Switchboard, and their servers added here.
//!
//! A peer runs Switchboard if its tailnet listener answers [`OFFER_PATH`](super::listener::OFFER_PATH)
//! with what it offers this node's user (it names us by whois, so no token is sent). A server
//! it offers is added as a remote server whose URL is the peer's Tailscale address; from then
//! on it is a server like any other, in the gateway and in every client.

use std::net::{IpAddr, SocketAddr};

use futures_util::future::join_all;
use switchboard_model::api::{AddRemote, AddServer, PeerOffer, ServerView, TailnetPeer};
use switchboard_model::{ServerSpec, Transport};
use switchboard_tailnet::Node;

use super::listener::OFFER_PATH;
use super::{Tailnet, TailnetError};

impl Tailnet {
    /// Online peers whose Switchboard answers, with the servers each offers this node's user.
    pub async fn peers(&self) -> Result<Vec<TailnetPeer>, TailnetError> {
        let (_, status) = self.this_node().await?;
        let asked = status
            .peer
            .values()
            .filter(|node| node.online)
            .filter_map(|node| Some((node, address(node)?)))
            .map(|(node, ip)| async move {
                let offer = self.offer(node, ip).await.ok()?;
                Some(TailnetPeer {
                    host_name: node.host_name.clone(),
                    dns_name: Some(node.dns_name.trim_end_matches('.').to_owned()).filter(|n| !n.is_empty()),
                    address: ip.to_string(),
                    os: node.os.clone(),
                    switchboard: offer.switchboard,
                    servers: offer.servers,
                })
            });
        let mut peers: Vec<TailnetPeer> = join_all(asked).await.into_iter().flatten().collect();
        peers.sort_by(|a, b| a.host_name.cmp(&b.host_name));
        Ok(peers)
    }

    /// Adds `server` of `peer` as a remote server here, once the peer confirms it offers it.
    pub async fn add_remote(&self, request: AddRemote) -> Result<ServerView, TailnetError> {
        let (_, status) = self.this_node().await?;
        let wanted = request.peer.trim_end_matches('.');
        let (node, ip) = status
            .peer
            .values()
            .find(|node| {
                let dns = node.dns_name.trim_end_matches('.');
                node.host_name.eq_ignore_ascii_case(wanted)
                    || dns.eq_ignore_ascii_case(wanted)
                    || dns
                        .split('.')
                        .next()
                        .is_some_and(|short| short.eq_ignore_ascii_case(wanted))
                    || node.tailscale_ips.iter().any(|ip| ip == wanted)
            })
            .and_then(|node| Some((node, address(node)?)))
            .ok_or_else(|| TailnetError::UnknownPeer(request.peer.clone()))?;
        let offer = self.offer(node, ip).await?;
        let Some(offered) = offer.servers.iter().find(|s| s.name == request.server) else {
            let names: Vec<&str> = offer.servers.iter().map(|s| s.name.as_str()).collect();
            return Err(TailnetError::NotOffered {
                peer: node.host_name.clone(),
                server: request.server,
                offered: if names.is_empty() {
                    "nothing".into()
                } else {
                    names.join(", ")
                },
            });
        };
        let spec = ServerSpec {
            name: request.name.unwrap_or_else(|| request.server.clone()),
            transport: Transport::RemoteHttp {
                url: format!("http://{}{}", SocketAddr::new(ip, self.port), offered.path),
                headers: Default::default(),
            },
            restart: Default::default(),
            health: Default::default(),
            sharing: Default::default(),
            protocol: Default::default(),
            start: Default::default(),
            origin: None,
        };
        tracing::info!(peer = %node.host_name, server = %request.server, as_name = %spec.name, "adding a tailnet peer's server");
        Ok(self
            .control
            .add(AddServer {
                spec,
                enabled: true,
                secrets: Default::default(),
            })
            .await?)
    }

    async fn offer(&self, node: &Node, ip: IpAddr) -> Result<PeerOffer, TailnetError> {
        let url = format!("http://{}{OFFER_PATH}", SocketAddr::new(ip, self.port));
        let unreachable = |detail: String| TailnetError::PeerUnreachable {
            peer: node.host_name.clone(),
            url: url.clone(),
            detail,
        };
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(unreachable(format!("it answered {}", response.status())));
        }
        response.json::<PeerOffer>().await.map_err(|e| {
            unreachable(format!(
                "its answer is not a Switchboard offer ({})",
                e.without_url()
            ))
        })
    }
}

/// The address a peer is reached at: its IPv4 Tailscale address, else its first one.
fn address(node: &Node) -> Option<IpAddr> {
    let ips: Vec<IpAddr> = node
        .tailscale_ips
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    ips.iter().find(|ip| ip.is_ipv4()).or(ips.first()).copied()
}
