//! End to end: the network comes back. The daemon runs in a Linux network namespace of the
//! test's own, with only loopback, as a laptop that woke before its Wi-Fi. Its remote server
//! (the real server-everything from npm over Streamable HTTP, listening in the namespace) is
//! at an address the namespace does not have yet, so every connection fails until the daemon
//! gives up on it as crash-looping. Then the network comes up: a veth pair gets that address.
//! The daemon notices and says what changed, and the server is reached again with nobody
//! touching it.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, everything_server, wait_until};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);
/// An address on the tailnet's range, which Switchboard reaches over plain http.
const ADDRESS: &str = "100.88.0.1";

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap();
    assert!(status.success(), "ip {args:?} failed");
}

/// A network namespace with loopback up; deleted, with its interfaces, on drop.
struct Namespace(String);

impl Namespace {
    fn create() -> Self {
        let name = format!("sb-net-{}", std::process::id());
        ip(&["netns", "add", &name]);
        // Owned before anything else can fail, so it is deleted whatever happens next.
        let ns = Self(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        ns
    }

    /// The network comes up: a veth pair, one end with `address`.
    fn connect(&self, address: &str) {
        ip(&[
            "-n", &self.0, "link", "add", "sbn0", "type", "veth", "peer", "name", "sbn1",
        ]);
        ip(&[
            "-n",
            &self.0,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "sbn0",
        ]);
        ip(&["-n", &self.0, "link", "set", "sbn1", "up"]);
        ip(&["-n", &self.0, "link", "set", "sbn0", "up"]);
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// server-everything over Streamable HTTP on every address of `sb`'s namespace.
struct Remote(Child);

impl Remote {
    fn start(sb: &Sandbox, port: u16) -> Self {
        let child = sb
            .program(everything_server())
            .arg("streamableHttp")
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let remote = Self(child);
        wait_until("the remote server to listen", START, || {
            let probe = format!("import socket; socket.create_connection(('127.0.0.1', {port}), 1)");
            sb.program("python3")
                .args(["-c", &probe])
                .status()
                .unwrap()
                .success()
                .then_some(())
        });
        remote
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_remote_server_given_up_on_offline_is_reached_again_when_the_network_comes_up() {
    let ns = Namespace::create();
    let mut sb = Sandbox::new().in_netns(&ns.0);
    sb.start_daemon();
    let port = common::free_port();
    let _remote = Remote::start(&sb, port);
    let url = format!("http://{ADDRESS}:{port}/mcp");
    sb.ok(&["add", "far", "--url", &url, "--no-wait"]);
    let gave_up = sb.wait_state("far", "crash_looping", START);
    assert!(
        gave_up["status"]["last"].to_string().contains("unreachable"),
        "it failed for want of a network: {gave_up}"
    );

    ns.connect(ADDRESS);
    let back = sb.wait_state("far", "running", START);
    assert!(back["status"]["tools"].as_u64().unwrap() > 0, "{back}");
    let tools: Value = sb.json(&["tools", "far"]);
    assert!(tools.to_string().contains("echo"), "{tools}");
    let log = sb.daemon_log();
    assert!(
        log.contains(&format!("the network changed (gained sbn0 {ADDRESS}; lost none)")),
        "the daemon says what changed:\n{log}"
    );
    let notes = sb.ok(&["logs", "far"]);
    assert!(notes.contains("its network changed: trying again"), "{notes}");
}
