//! HTTPS for exposed servers, through Tailscale Serve.
//!
//! Turning it on adds one entry to tailscaled's serve config: TLS on a port of this node's
//! MagicDNS name, proxied to a Unix socket in the data directory ([`serve_socket`]) that only
//! tailscaled (root) and this user can open. Whatever else the config serves is kept: it is
//! read with its ETag and written back with `If-Match`, again on a conflict. Funnel is never
//! turned on. Requests arriving on that socket are named by whois of the address tailscaled
//! forwards them from (`X-Forwarded-For`, which it sets itself), then pass the same door as
//! the listener's, so a local process cannot pass itself off as a peer either way.

use serde_json::{Value, json};
use switchboard_tailnet::LocalApiError;

use super::{Tailnet, TailnetError};

/// How often a write that lost a race with another writer of the serve config is retried.
const CONFLICT_RETRIES: usize = 3;

/// The proxy target tailscaled is given for this daemon's socket.
fn proxy_target(socket: &std::path::Path) -> String {
    format!("unix:{}", socket.display())
}

/// The `host:port` of this daemon's entry in a serve config, if it has one.
fn ours(config: &Value, proxy: &str) -> Option<String> {
    config["Web"].as_object()?.iter().find_map(|(host_port, web)| {
        let handlers = web["Handlers"].as_object()?;
        handlers
            .values()
            .any(|h| h["Proxy"] == proxy)
            .then(|| host_port.clone())
    })
}

/// `config` serving this daemon at `https://host:port/`, or why that port is taken.
fn with_ours(config: Option<Value>, host: &str, port: u16, proxy: &str) -> Result<Value, TailnetError> {
    let mut config = without_ours(config, proxy);
    if !config["TCP"][port.to_string()].is_null() {
        return Err(TailnetError::ServePortTaken { port });
    }
    config["TCP"][port.to_string()] = json!({"HTTPS": true});
    config["Web"][format!("{host}:{port}")] = json!({"Handlers": {"/": {"Proxy": proxy}}});
    Ok(config)
}

/// `config` without this daemon's entry (and its port, which nothing else serves).
fn without_ours(config: Option<Value>, proxy: &str) -> Value {
    let mut config = config.filter(Value::is_object).unwrap_or_else(|| json!({}));
    if let Some(host_port) = ours(&config, proxy) {
        if let Some(web) = config["Web"].as_object_mut() {
            web.remove(&host_port);
        }
        let port = host_port.rsplit(':').next().unwrap_or_default().to_owned();
        let still_served = config["Web"]
            .as_object()
            .is_some_and(|web| web.keys().any(|k| k.ends_with(&format!(":{port}"))));
        if !still_served && let Some(tcp) = config["TCP"].as_object_mut() {
            tcp.remove(&port);
        }
    }
    for key in ["TCP", "Web"] {
        if config[key].as_object().is_some_and(serde_json::Map::is_empty)
            && let Some(object) = config.as_object_mut()
        {
            object.remove(key);
        }
    }
    config
}

impl Tailnet {
    /// Serves the exposed servers at `https://<this node's MagicDNS name>:<port>/mcp/<server>`.
    pub async fn enable_https(&self, port: u16) -> Result<String, TailnetError> {
        let (node, _) = self.this_node().await?;
        if node.dns_name.is_empty() {
            return Err(TailnetError::NotConnected(
                "this node has no MagicDNS name; turn on MagicDNS and HTTPS certificates in the Tailscale admin console"
                    .into(),
            ));
        }
        let proxy = proxy_target(&self.serve_socket);
        self.edit_serve_config(|config| with_ours(config, &node.dns_name, port, &proxy))
            .await?;
        self.changed.notify_one();
        Ok(https_url(&node.dns_name, port))
    }

    pub async fn disable_https(&self) -> Result<(), TailnetError> {
        let proxy = proxy_target(&self.serve_socket);
        self.edit_serve_config(|config| Ok(without_ours(config, &proxy)))
            .await
    }

    /// The HTTPS address, when tailscaled serves this daemon.
    pub(super) async fn https(&self) -> Option<String> {
        let served = self.api.serve_config().await.ok()?.config?;
        let host_port = ours(&served, &proxy_target(&self.serve_socket))?;
        let (host, port) = host_port.rsplit_once(':')?;
        Some(https_url(host, port.parse().ok()?))
    }

    async fn edit_serve_config(
        &self,
        edit: impl Fn(Option<Value>) -> Result<Value, TailnetError>,
    ) -> Result<(), TailnetError> {
        let mut attempt = 0;
        loop {
            let current = self.api.serve_config().await?;
            let next = edit(current.config.clone())?;
            if Some(&next) == current.config.as_ref() || (current.config.is_none() && next == json!({})) {
                return Ok(());
            }
            match self.api.set_serve_config(&next, &current.etag).await {
                Err(LocalApiError::Conflict) if attempt < CONFLICT_RETRIES => attempt += 1,
                other => return other.map_err(TailnetError::from),
            }
        }
    }
}

fn https_url(host: &str, port: u16) -> String {
    if port == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: &str = "unix:/home/alice/.local/share/switchboard/tailnet-serve.sock";

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tailnet/tests/fixtures")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json")
    }

    #[test]
    fn the_entry_is_added_beside_what_else_is_served_and_removed_without_it() {
        let theirs = fixture("synthetic-serve-config-multi-with-funnel.json");
        let host = "homebox.tail4c1d2e.ts.net";
        let taken = with_ours(Some(theirs.clone()), host, 443, PROXY).expect_err("443 is theirs");
        assert!(
            matches!(taken, TailnetError::ServePortTaken { port: 443 }),
            "{taken}"
        );

        let config = with_ours(Some(theirs.clone()), host, 9443, PROXY).expect("free port");
        assert_eq!(config["TCP"]["9443"], json!({"HTTPS": true}));
        assert_eq!(
            config["Web"]["homebox.tail4c1d2e.ts.net:9443"]["Handlers"]["/"]["Proxy"],
            PROXY
        );
        assert_eq!(
            config["AllowFunnel"], theirs["AllowFunnel"],
            "Funnel is left as it was"
        );
        assert!(
            config["AllowFunnel"]
                .get("homebox.tail4c1d2e.ts.net:9443")
                .is_none()
        );
        assert_eq!(
            ours(&config, PROXY).as_deref(),
            Some("homebox.tail4c1d2e.ts.net:9443")
        );

        // Turning it on again, on another port, moves it; turning it off restores theirs.
        let moved = with_ours(Some(config), host, 10443, PROXY).expect("move");
        assert!(moved["TCP"].get("9443").is_none());
        assert_eq!(without_ours(Some(moved), PROXY), theirs);
    }

    #[test]
    fn an_empty_config_gets_only_our_entry() {
        let config = with_ours(None, "homebox.tail4c1d2e.ts.net", 443, PROXY).expect("free");
        assert_eq!(
            config,
            json!({"TCP": {"443": {"HTTPS": true}}, "Web": {"homebox.tail4c1d2e.ts.net:443": {"Handlers": {"/": {"Proxy": PROXY}}}}})
        );
        assert_eq!(without_ours(Some(config), PROXY), json!({}));
    }
}
