//! `switchboard tailnet status` against the real tailscaled 1.96.4, logged out in a network
//! namespace of its own, and against no tailscaled at all.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, tools_dir, wait_until};

/// The real tailscaled, logged out, reaching nothing: its socket is all the test sees.
struct Tailscaled(Child);

impl Drop for Tailscaled {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tailscaled(dir: &std::path::Path) -> Tailscaled {
    let child = Command::new("unshare")
        .args(["--net", "--"])
        .arg(tools_dir().join("tailscale/tailscaled"))
        .arg("--tun=userspace-networking")
        .arg(format!("--socket={}", dir.join("ts.sock").display()))
        .arg(format!("--statedir={}", dir.join("state").display()))
        .arg("--no-logs-no-support")
        .env("TS_LOGS_DIR", dir.join("logs"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Tailscaled(child)
}

/// Whether Tailscale is installed here where the daemon would find it outside `PATH`.
fn installed_on_this_host() -> bool {
    [
        "/usr/sbin/tailscaled",
        "/usr/bin/tailscaled",
        "/usr/local/bin/tailscaled",
    ]
    .iter()
    .any(|p| Path::new(p).exists())
}

#[test]
fn tailnet_status_says_whether_tailscale_runs_and_is_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ts.sock");
    let mut sb = Sandbox::with_env(&[("SWITCHBOARD_TAILSCALE_SOCKET", socket.to_str().unwrap())]);
    sb.start_daemon();

    // No Tailscale anywhere this daemon looks: not installed, and where to get it. (A host
    // with Tailscale installed where its installer puts it cannot show this part.)
    let absent = sb.json(&["tailnet", "status"]);
    if installed_on_this_host() {
        eprintln!("Tailscale is installed on this host: the not-installed state is not shown");
        assert_eq!(absent["state"], "not_running", "{absent}");
    } else {
        assert_eq!(absent["state"], "not_installed", "{absent}");
        assert!(
            absent["message"]
                .as_str()
                .unwrap()
                .contains("tailscale.com/download"),
            "{absent}"
        );
        assert!(sb.ok(&["tailnet", "status"]).contains("Tailscale: not installed"));
    }

    // Installed (tailscaled on PATH) but not running is told apart, with how to start it.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        tools_dir().join("tailscale/tailscaled"),
        bin.path().join("tailscaled"),
    )
    .unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let mut installed = Sandbox::with_env(&[
        ("SWITCHBOARD_TAILSCALE_SOCKET", socket.to_str().unwrap()),
        ("PATH", &path),
    ]);
    installed.start_daemon();
    let stopped = installed.json(&["tailnet", "status"]);
    assert_eq!(stopped["state"], "not_running", "{stopped}");
    assert!(
        stopped["message"]
            .as_str()
            .unwrap()
            .contains("tailscaled is not running"),
        "{stopped}"
    );

    // Tailscale starts after the daemon: the next question sees it.
    let _tailscaled = tailscaled(dir.path());
    let status = wait_until("tailscaled to answer", Duration::from_secs(20), || {
        let status = sb.json(&["tailnet", "status"]);
        (!["not_running", "not_installed"].contains(&status["state"].as_str().unwrap())).then_some(status)
    });
    assert_eq!(status["state"], "needs_login", "{status}");
    assert!(
        status["version"].as_str().unwrap().starts_with("1.96.4"),
        "{status}"
    );
    assert_eq!(status["addresses"], serde_json::json!([]));
    let text = sb.ok(&["tailnet", "status"]);
    assert!(
        text.contains("Tailscale: logged out") && text.contains("tailscale up"),
        "{text}"
    );
}
