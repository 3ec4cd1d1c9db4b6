//! OAuth for remote servers, end to end: a real authorization server (oidc-provider from npm,
//! with dynamic registration, PKCE and resource indicators) protecting an MCP server built with
//! the official TypeScript SDK, the real daemon and CLI, and the official Python SDK through the
//! gateway. The sign-in page is filled in by a real browser: Debian's chromium, headless,
//! driven by playwright-core (`tests/oauth/sign_in.mjs`).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, TempScript, assert_no_leak, call_tool, free_port, tools_dir};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);
/// The start of every JWT access token oidc-provider signs (`{"alg":"RS256",`): what a leak of
/// one would look like.
const JWT_PREFIX: &str = "eyJhbGciOiJSUzI1NiIs";
const PLANTED: &str = "planted-secret-5150";

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

/// An authorization server issuing access tokens that last `ttl_secs`, and the MCP server it
/// protects; the MCP server's URL and the authorization server's.
fn protected_server(ttl_secs: u32) -> (NodeServer, NodeServer, String, String) {
    let (as_port, mcp_port) = (free_port(), free_port());
    let resource = format!("http://127.0.0.1:{mcp_port}/mcp");
    let authorization = NodeServer::start(
        script("authorization_server.mjs"),
        &[as_port.to_string(), resource.clone(), ttl_secs.to_string()],
    );
    let mcp = NodeServer::start(
        script("protected_server.mjs"),
        &[mcp_port.to_string(), format!("http://127.0.0.1:{as_port}")],
    );
    (authorization, mcp, resource, format!("127.0.0.1:{as_port}"))
}

/// A test hook of the authorization server: its JSON answer.
fn hook(authorization: &str, method: &str, path: &str) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(authorization).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {authorization}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}

/// `count` simultaneous calls of `tool` in one gateway session; the texts, or None if the
/// client failed.
fn calls(sb: &Sandbox, server: &str, tool: &str, count: usize, token: &str) -> Option<Vec<String>> {
    let out = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sdk_client.py"))
        .args([
            "calls",
            &format!("http://127.0.0.1:{}/mcp/{server}", sb.port()),
            tool,
            &count.to_string(),
        ])
        .env("SWITCHBOARD_TOKEN", token)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let seen: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last()?).ok()?;
    Some(
        seen["texts"]
            .as_array()?
            .iter()
            .map(|t| t.as_str().unwrap_or_default().to_owned())
            .collect(),
    )
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
    let browser = script("sign_in.mjs");
    let signed = Command::new(tools_dir().join("conformance/node_modules/.bin/node"))
        .arg(&browser.0)
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
fn a_remote_server_behind_oauth_works_after_login_steps_up_for_a_scope_and_stops_after_logout() {
    let (_authorization, _mcp, url, _) = protected_server(3600);
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
    assert_eq!(
        said["sawClientToken"], false,
        "the client's token is not passed upstream"
    );
    // Upstream tokens stay in the keychain: not in the data directory, on a command line, or
    // in an API answer.
    assert_no_leak(&sb, JWT_PREFIX);

    // Step-up: a tool needs a scope the login lacks. The call fails, the server waits for a new
    // login, and that login asks for the scope too.
    assert!(calls(&sb, "protected", "admin", 1, &token).is_none_or(|texts| !texts[0].contains("admin ok")));
    let stepped = sb.wait_state("protected", "failed", START);
    let message = stepped["status"]["reason"]["message"].as_str().unwrap();
    assert!(message.contains("asks for scope `mcp admin`"), "{message}");
    let view = login(&sb, "protected", "alice");
    assert_eq!(view["status"]["state"], "running", "{view}");
    assert_eq!(call_tool(&sb, "protected", "admin", &token), "admin ok");

    sb.ok(&["logout", "protected"]);
    let after = sb.wait_state("protected", "failed", START);
    assert_eq!(after["status"]["reason"]["kind"], "needs_login", "{after}");
    let out = sb.cli(&["logout", "protected"]);
    assert_eq!(out.status.code(), Some(4), "nothing left to forget");
}

#[test]
fn an_expired_token_is_refreshed_once_for_many_calls_and_a_revoked_login_needs_a_new_one() {
    const TTL: Duration = Duration::from_secs(4);
    let (_authorization_server, _mcp, url, authorization) = protected_server(4);
    // A home of its own: a client is wired to the gateway, and its config file is scanned too.
    let mut sb = Sandbox::with_user_home();
    sb.ok(&["clients", "connect", "cursor"]);
    sb.ok(&["add", "protected", "--url", &url, "--no-wait"]);
    sb.wait_state("protected", "failed", START);
    login(&sb, "protected", "alice");
    let signed_in = std::time::Instant::now();
    // A planted secret header as well, for the leak scan at the end.
    let mut planting = sb
        .command()
        .args(["secrets", "set", "protected", "X-Planted"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut planting.stdin.take().unwrap(), PLANTED.as_bytes()).unwrap();
    assert!(planting.wait().unwrap().success());
    sb.wait_state("protected", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert!(calls(&sb, "protected", "whoami", 1, &token).is_some());
    assert_eq!(hook(&authorization, "GET", "/_test/stats")["refreshes"], 0);

    // Past the access token's lifetime, ten calls at once: one refresh serves them all (the
    // refresh token rotates, so a second refresh with the old one would fail).
    common::wait_until("the access token to expire", TTL * 3, || {
        (signed_in.elapsed() > TTL).then_some(())
    });
    let texts = calls(&sb, "protected", "whoami", 10, &token).expect("ten calls during expiry");
    assert_eq!(texts.len(), 10);
    for text in &texts {
        let said: Value = serde_json::from_str(text).unwrap();
        assert_eq!(said["sub"], "alice", "{text}");
    }
    assert_eq!(hook(&authorization, "GET", "/_test/stats")["refreshes"], 1);

    // A token endpoint failing for a moment (503 twice) is retried with backoff.
    let refreshed = std::time::Instant::now();
    hook(&authorization, "POST", "/_test/flaky");
    common::wait_until("the refreshed token to expire", TTL * 3, || {
        (refreshed.elapsed() > TTL).then_some(())
    });
    let texts = calls(&sb, "protected", "whoami", 1, &token).expect("a call after a flaky refresh");
    assert!(texts[0].contains("alice"), "{texts:?}");
    assert_eq!(hook(&authorization, "GET", "/_test/stats")["refreshes"], 2);
    assert_eq!(sb.server("protected")["status"]["state"], "running");

    // The daemon dies (SIGKILL) and is started again: the login and the secret survive it in
    // the keychain, and nothing of them is left behind by the crash (the scan at the end).
    sb.kill_daemon_hard();
    sb.start_daemon();
    sb.wait_state("protected", "running", START);
    let texts = calls(&sb, "protected", "whoami", 1, &token).expect("a call after the daemon's restart");
    assert!(texts[0].contains("alice"), "{texts:?}");
    let refreshed = std::time::Instant::now();

    // The user revokes Switchboard at the authorization server: the next refresh is refused,
    // and the server is moved to needs-login with why.
    assert!(
        hook(&authorization, "POST", "/_test/revoke")["revoked"]
            .as_u64()
            .unwrap()
            >= 1
    );
    common::wait_until("the refreshed token to expire", TTL * 3, || {
        (refreshed.elapsed() > TTL).then_some(())
    });
    let _ = calls(&sb, "protected", "whoami", 1, &token);
    let lost = sb.wait_state("protected", "failed", START);
    let reason = &lost["status"]["reason"];
    assert_eq!(reason["kind"], "needs_login", "{lost}");
    let message = reason["message"].as_str().unwrap();
    assert!(message.contains("refused the refresh token"), "{message}");
    assert!(message.contains("switchboard login protected"), "{message}");

    // After the whole scenario, no token the authorization server issued is anywhere.
    let issued = hook(&authorization, "GET", "/_test/tokens");
    let issued = issued["tokens"].as_array().unwrap();
    assert!(
        issued.len() >= 6,
        "access and refresh tokens of three grants: {issued:?}"
    );
    for token in issued {
        assert_no_leak(&sb, token.as_str().unwrap());
    }
    assert_no_leak(&sb, PLANTED);
    assert_no_leak(&sb, JWT_PREFIX);
}
