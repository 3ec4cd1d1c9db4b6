//! OAuth for remote servers, end to end: a real authorization server (oidc-provider from npm,
//! with dynamic registration, PKCE and resource indicators) protecting an MCP server built with
//! the official TypeScript SDK, the real daemon and CLI, and the official Python SDK through the
//! gateway. The sign-in page is filled in by `tests/oauth/sign_in.py` over plain HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, TempScript, assert_no_leak, call_tool, tools_dir};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);
/// The start of every JWT access token oidc-provider signs (`{"alg":"RS256",`): what a leak of
/// one would look like.
const JWT_PREFIX: &str = "eyJhbGciOiJSUzI1NiIs";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A copy of `tests/oauth/<name>` beside the OAuth tools' node_modules, where ESM resolves them.
fn script(name: &str) -> TempScript {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/oauth")
        .join(name);
    let path = tools_dir()
        .join("oauth")
        .join(format!("{}-{}-{name}", std::process::id(), free_port()));
    std::fs::copy(source, &path).unwrap();
    TempScript(path)
}

/// A Node 22 process (oidc-provider needs it) that prints `READY …` when it listens.
struct NodeServer {
    child: Child,
    _script: TempScript,
}

impl NodeServer {
    fn start(script: TempScript, args: &[String]) -> Self {
        let node: PathBuf = tools_dir().join("conformance/node_modules/.bin/node");
        let mut child = Command::new(node)
            .arg(&script.0)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("READY"), "{line}");
        // It keeps logging; a closed pipe would end it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            _script: script,
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An authorization server and the MCP server it protects; the MCP server's URL.
fn protected_server() -> (NodeServer, NodeServer, String) {
    let (as_port, mcp_port) = (free_port(), free_port());
    let resource = format!("http://127.0.0.1:{mcp_port}/mcp");
    let authorization = NodeServer::start(
        script("authorization_server.mjs"),
        &[as_port.to_string(), resource.clone()],
    );
    let mcp = NodeServer::start(
        script("protected_server.mjs"),
        &[mcp_port.to_string(), format!("http://127.0.0.1:{as_port}")],
    );
    (authorization, mcp, resource)
}

/// `switchboard login NAME`, signing in as `user` at the page it names.
fn login(sb: &Sandbox, name: &str, user: &str) -> Value {
    let mut child = sb
        .command()
        .args(["login", name, "--no-browser", "--json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    while !url.starts_with("http") {
        url.clear();
        assert!(
            stderr.read_line(&mut url).unwrap() > 0,
            "login printed no address"
        );
    }
    let signed = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/oauth/sign_in.py"))
        .args([url.trim(), user])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&signed.stdout);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert!(page.contains("Switchboard is signed in"), "{page} (at {url})");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "login failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_remote_server_behind_oauth_is_reached_after_login_and_not_after_logout() {
    let (_authorization, _mcp, url) = protected_server();
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "protected", "--url", &url, "--no-wait"]);
    let failed = sb.wait_state("protected", "failed", START);
    let reason = &failed["status"]["reason"];
    assert_eq!(reason["kind"], "needs_login", "{failed}");
    assert!(
        reason["message"]
            .as_str()
            .unwrap()
            .contains("switchboard login protected"),
        "{failed}"
    );

    let view = login(&sb, "protected", "alice");
    assert_eq!(view["status"]["state"], "running", "{view}");
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let said: Value = serde_json::from_str(&call_tool(&sb, "protected", "whoami", &token)).unwrap();
    assert_eq!(said["sub"], "alice", "the upstream saw the login's token: {said}");
    // Upstream tokens stay in the keychain: not in the data directory, on a command line, or
    // in an API answer.
    assert_no_leak(&sb, JWT_PREFIX);

    sb.ok(&["logout", "protected"]);
    let after = sb.wait_state("protected", "failed", START);
    assert_eq!(after["status"]["reason"]["kind"], "needs_login", "{after}");
    let out = sb.cli(&["logout", "protected"]);
    assert_eq!(out.status.code(), Some(4), "nothing left to forget");
}
