//! The daemon's view of this machine's Tailscale: state, node name and addresses.
//!
//! It asks tailscaled's LocalAPI (through the tailnet crate) on each request, so the answer is
//! never stale and a daemon started before Tailscale needs no restart. Exposing servers on the
//! tailnet is not built yet; this is what the UI and `switchboard tailnet status` show.

use std::path::PathBuf;

use switchboard_model::api::{TailnetState, TailnetStatus};
use switchboard_tailnet::{BackendState, LocalApi, LocalApiError};

/// tailscaled's LocalAPI at its usual socket, or where `SWITCHBOARD_TAILSCALE_SOCKET` says.
#[derive(Clone, Debug)]
pub struct Tailnet {
    api: LocalApi,
}

impl Tailnet {
    pub fn from_env() -> Self {
        let socket = std::env::var_os("SWITCHBOARD_TAILSCALE_SOCKET")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(LocalApi::default_socket);
        Self {
            api: LocalApi::unix(socket),
        }
    }

    pub async fn status(&self) -> TailnetStatus {
        let mut view = TailnetStatus {
            state: TailnetState::NotRunning,
            host_name: None,
            dns_name: None,
            addresses: Vec::new(),
            tailnet: None,
            version: None,
            message: None,
        };
        let status = match self.api.status().await {
            Ok(status) => status,
            Err(error @ LocalApiError::NotRunning { .. }) => {
                view.message = Some(error.to_string());
                return view;
            }
            Err(error) => {
                view.state = TailnetState::Stopped;
                view.message = Some(error.to_string());
                return view;
            }
        };
        view.version = Some(status.version.clone());
        view.state = match status.backend_state {
            BackendState::Running => TailnetState::Running,
            BackendState::NeedsLogin | BackendState::NoState => TailnetState::NeedsLogin,
            _ => TailnetState::Stopped,
        };
        view.message = match view.state {
            TailnetState::Running => None,
            TailnetState::NeedsLogin => {
                Some("Tailscale is logged out; run `tailscale up` to log in".to_owned())
            }
            _ => Some(format!(
                "Tailscale is {:?}; run `tailscale up` to connect",
                status.backend_state
            )),
        };
        if view.state == TailnetState::Running {
            if let Some(me) = &status.self_node {
                view.host_name = Some(me.host_name.clone()).filter(|n| !n.is_empty());
                view.dns_name = Some(me.dns_name.trim_end_matches('.').to_owned()).filter(|n| !n.is_empty());
            }
            view.addresses = status.tailscale_ips.clone();
            view.tailnet = status.current_tailnet.map(|t| t.name);
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A LocalAPI double on a Unix socket answering every request with a real-shaped status.
    async fn local_api(body: String) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("ts.sock");
        let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let answer = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
                let _ = stream.write_all(answer.as_bytes()).await;
            }
        });
        (dir, socket)
    }

    #[tokio::test]
    async fn a_running_node_shows_its_name_addresses_and_tailnet() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tailnet/tests/fixtures/synthetic-status-running.json");
        let (_dir, socket) = local_api(std::fs::read_to_string(fixture).expect("fixture")).await;
        let view = Tailnet {
            api: LocalApi::unix(socket),
        }
        .status()
        .await;
        assert_eq!(view.state, TailnetState::Running);
        assert_eq!(view.dns_name.as_deref(), Some("homebox.tail4c1d2e.ts.net"));
        assert_eq!(view.addresses[0], "100.101.102.103");
        assert_eq!(view.tailnet.as_deref(), Some("alice@example.com"));
        assert_eq!(view.message, None);
    }
}
