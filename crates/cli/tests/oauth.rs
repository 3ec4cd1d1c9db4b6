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

use common::logind::Bus;
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
        Self::start_with_env(script, args, &[])
    }

    /// With `vars` set: how a secret reaches it, never its command line.
    fn start_with_env(script: TempScript, args: &[String], vars: &[(&str, &str)]) -> Self {
        let node: PathBuf = tools_dir().join("conformance/node_modules/.bin/node");
        let mut child = Command::new(node)
            .arg(&script.0)
            .args(args)
            .envs(vars.iter().copied())
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

/// An authorization server issuing access tokens that last `ttl_secs` (with `options`, see
/// authorization_server.mjs), and the MCP server it protects.
struct Protected {
    _authorization: NodeServer,
    _mcp: NodeServer,
    /// The MCP server's URL.
    url: String,
    /// `127.0.0.1:PORT` of each, for their test hooks.
    authorization_at: String,
    mcp_at: String,
}

impl Protected {
    fn start(ttl_secs: u32, options: &[&str]) -> Self {
        Self::start_with_env(ttl_secs, options, &[])
    }

    fn start_with_env(ttl_secs: u32, options: &[&str], vars: &[(&str, &str)]) -> Self {
        let (as_port, mcp_port) = (free_port(), free_port());
        let url = format!("http://127.0.0.1:{mcp_port}/mcp");
        let mut args = vec![as_port.to_string(), url.clone(), ttl_secs.to_string()];
        args.extend(options.iter().map(|o| (*o).to_owned()));
        let authorization = NodeServer::start_with_env(script("authorization_server.mjs"), &args, vars);
        let mcp = mcp_server(mcp_port, as_port, "ok");
        Self {
            _authorization: authorization,
            _mcp: mcp,
            url,
            authorization_at: format!("127.0.0.1:{as_port}"),
            mcp_at: format!("127.0.0.1:{mcp_port}"),
        }
    }

    /// How many requests reached the MCP server with an Authorization header.
    fn authorized_requests(&self) -> u64 {
        hook(&self.mcp_at, "GET", "/_test/seen")["authorized"]
            .as_u64()
            .unwrap()
    }
}

/// The protected MCP server on `port`, for the authorization server on `as_port`, serving
/// metadata as `mode` says (see protected_server.mjs).
fn mcp_server(port: u16, as_port: u16, mode: &str) -> NodeServer {
    NodeServer::start(
        script("protected_server.mjs"),
        &[
            port.to_string(),
            format!("http://127.0.0.1:{as_port}"),
            mode.to_owned(),
        ],
    )
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
    login_with(sb, name, user, &[], None, |_| {}).0
}

/// `switchboard login NAME ARGS…` with `stdin`, signing in as `user` at the page it names
/// after `before_sign_in` saw its address; the login's answer and that address.
fn login_with(
    sb: &Sandbox,
    name: &str,
    user: &str,
    args: &[&str],
    stdin: Option<&str>,
    before_sign_in: impl FnOnce(&str),
) -> (Value, String) {
    let mut child = sb
        .command()
        .args(["login", name, "--no-browser", "--json"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    }
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    while !url.starts_with("http") {
        url.clear();
        assert!(
            stderr.read_line(&mut url).unwrap() > 0,
            "login printed no address"
        );
    }
    before_sign_in(url.trim());
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
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        url.trim().to_owned(),
    )
}

/// Query parameter `name` of `url`.
fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').unwrap().1;
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{url} has no {name}"));
    let mut bytes = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match first {
            b'%' => {
                bytes.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
                rest = &tail[2..];
            }
            b'+' => {
                bytes.push(b' ');
                rest = tail;
            }
            other => {
                bytes.push(other);
                rest = tail;
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// The answer of a raw HTTP GET to `target` (`127.0.0.1:PORT/path?query`), or the error.
fn get(target: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let (address, path) = target.split_at(target.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(address)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn a_remote_server_behind_oauth_works_after_login_steps_up_for_a_scope_and_stops_after_logout() {
    let protected = Protected::start(3600, &[]);
    let url = &protected.url;
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "protected", "--url", url, "--no-wait"]);
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
    // The authorization server's clock is the test's: tokens last an hour, except the one a
    // step needs to expire, and nothing but the test's own calls asks for that one. So no step
    // races a slow machine (a fixed 4 s lifetime once expired before the first assertion).
    const SHORT: Duration = Duration::from_secs(3);
    let protected = Protected::start(3600, &[]);
    let (url, authorization) = (&protected.url, &protected.authorization_at);
    let refreshes = || hook(authorization, "GET", "/_test/stats")["refreshes"].clone();
    // A home of its own: a client is wired to the gateway, and its config file is scanned too.
    let mut sb = Sandbox::with_user_home();
    sb.ok(&["clients", "connect", "cursor"]);
    sb.ok(&["add", "protected", "--url", url, "--no-wait"]);
    sb.wait_state("protected", "failed", START);
    login(&sb, "protected", "alice");
    // A planted secret header as well, for the leak scan at the end.
    assert!(sb.set_secret("protected", "X-Planted", PLANTED).status.success());
    sb.wait_state("protected", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert!(calls(&sb, "protected", "whoami", 1, &token).is_some());
    assert_eq!(refreshes(), 0, "a fresh token is not refreshed");

    // A token the server turns away is replaced; this replacement is short-lived.
    hook(
        authorization,
        "POST",
        &format!("/_test/ttl?seconds={}", SHORT.as_secs()),
    );
    hook(&protected.mcp_at, "POST", "/_test/refuse-next");
    assert!(calls(&sb, "protected", "whoami", 1, &token).is_some());
    let short_one_issued = std::time::Instant::now();
    assert_eq!(refreshes(), 1, "the refused token was replaced");
    hook(authorization, "POST", "/_test/ttl?seconds=3600");

    // Past its lifetime, ten calls at once: one refresh serves them all (the refresh token
    // rotates, so a second refresh with the old one would fail), and its token lasts an hour.
    common::wait_until("the short-lived token to expire", SHORT * 3, || {
        (short_one_issued.elapsed() > SHORT).then_some(())
    });
    let texts = calls(&sb, "protected", "whoami", 10, &token).expect("ten calls during expiry");
    assert_eq!(texts.len(), 10);
    for text in &texts {
        let said: Value = serde_json::from_str(text).unwrap();
        assert_eq!(said["sub"], "alice", "{text}");
    }
    assert_eq!(refreshes(), 2, "one refresh for ten calls");

    // A token endpoint failing for a moment (503 twice) is retried with backoff.
    hook(authorization, "POST", "/_test/flaky");
    hook(&protected.mcp_at, "POST", "/_test/refuse-next");
    let texts = calls(&sb, "protected", "whoami", 1, &token).expect("a call after a flaky refresh");
    assert!(texts[0].contains("alice"), "{texts:?}");
    assert_eq!(refreshes(), 3);
    assert_eq!(sb.server("protected")["status"]["state"], "running");

    // The daemon dies (SIGKILL) and is started again: the login and the secret survive it in
    // the keychain, and nothing of them is left behind by the crash (the scan at the end).
    sb.kill_daemon_hard();
    sb.start_daemon();
    sb.wait_state("protected", "running", START);
    let texts = calls(&sb, "protected", "whoami", 1, &token).expect("a call after the daemon's restart");
    assert!(texts[0].contains("alice"), "{texts:?}");

    // The user revokes Switchboard at the authorization server: the next refresh is refused,
    // and the server is moved to needs-login with why.
    assert!(
        hook(authorization, "POST", "/_test/revoke")["revoked"]
            .as_u64()
            .unwrap()
            >= 1
    );
    hook(&protected.mcp_at, "POST", "/_test/refuse-next");
    let _ = calls(&sb, "protected", "whoami", 1, &token);
    let lost = sb.wait_state("protected", "failed", START);
    let reason = &lost["status"]["reason"];
    assert_eq!(reason["kind"], "needs_login", "{lost}");
    let message = reason["message"].as_str().unwrap();
    assert!(message.contains("refused the refresh token"), "{message}");
    assert!(message.contains("switchboard login protected"), "{message}");

    // After the whole scenario, no token the authorization server issued is anywhere.
    let issued = hook(authorization, "GET", "/_test/tokens");
    let issued = issued["tokens"].as_array().unwrap();
    assert!(
        issued.len() >= 8,
        "access and refresh tokens of four grants: {issued:?}"
    );
    for token in issued {
        assert_no_leak(&sb, token.as_str().unwrap());
    }
    assert_no_leak(&sb, PLANTED);
    assert_no_leak(&sb, JWT_PREFIX);
}

#[test]
fn tokens_near_expiry_are_refreshed_as_the_machine_wakes_before_any_call() {
    // Tokens last four minutes: longer than the minute within which a call (or a health
    // check) refreshes one, shorter than the five within which a wake does.
    let protected = Protected::start(240, &[]);
    let refreshes = || {
        hook(&protected.authorization_at, "GET", "/_test/stats")["refreshes"]
            .as_u64()
            .unwrap()
    };
    let bus = Bus::start();
    let mut sb = Sandbox::with_env(&[("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)]);
    sb.start_daemon();
    sb.ok(&["add", "protected", "--url", &protected.url, "--no-wait"]);
    sb.wait_state("protected", "failed", START);
    login(&sb, "protected", "alice");
    sb.wait_state("protected", "running", START);
    assert_eq!(refreshes(), 0, "a fresh token is not refreshed");

    bus.prepare_for_sleep(true);
    bus.prepare_for_sleep(false);
    common::wait_until("the login to be refreshed on waking", START, || {
        (refreshes() > 0).then_some(())
    });
    let log = sb.daemon_log();
    assert!(log.contains("(logind): checking every server now"), "{log}");
    // The first call after the wake finds a fresh token and waits for no refresh.
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert!(call_tool(&sb, "protected", "whoami", &token).contains("alice"));
    assert_eq!(refreshes(), 1, "one refresh, on waking");
}

/// `PUT /api/v1/servers/NAME` with its spec's URL replaced by `url`.
fn change_url(sb: &Sandbox, name: &str, from: &str, to: &str) {
    let mut view = sb.server(name);
    for live in ["enabled", "status", "restarts", "usage"] {
        view.as_object_mut().unwrap().remove(live);
    }
    let spec = view.to_string().replace(from, to);
    let auth = format!("Bearer {}", sb.token());
    let (status, answer) = sb.http(
        "PUT",
        &format!("/api/v1/servers/{name}"),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        &spec,
    );
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn a_login_is_sent_only_to_the_url_it_was_made_for() {
    let (first, second) = (Protected::start(3600, &[]), Protected::start(3600, &[]));
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "a", "--url", &first.url, "--no-wait"]);
    sb.wait_state("a", "failed", START);
    login(&sb, "a", "alice");
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert!(call_tool(&sb, "a", "whoami", &token).contains("alice"));

    // The server's URL changes to another protected server: its login stays behind.
    change_url(&sb, "a", &first.url, &second.url);
    let moved = common::wait_until("a to fail, or a token at the new URL", START, || {
        let view = sb.server("a");
        (view["status"]["state"] == "failed" || second.authorized_requests() > 0).then_some(view)
    });
    assert_eq!(second.authorized_requests(), 0, "no token reached the new URL");
    assert_eq!(moved["status"]["reason"]["kind"], "needs_login", "{moved}");
    assert_eq!(
        sb.cli(&["logout", "a"]).status.code(),
        Some(4),
        "the login is gone"
    );

    // Removed and added again under the same name, at a URL it had a login for: that login
    // went with the server.
    login(&sb, "a", "bob");
    let said = call_tool(&sb, "a", "whoami", &token);
    assert!(said.contains("bob"), "{said}");
    sb.ok(&["rm", "a"]);
    let before = second.authorized_requests();
    sb.ok(&["add", "a", "--url", &second.url, "--no-wait"]);
    let again = sb.wait_state("a", "failed", START);
    assert_eq!(again["status"]["reason"]["kind"], "needs_login", "{again}");
    assert_eq!(second.authorized_requests(), before, "no old token was sent");
}

#[test]
fn metadata_that_is_not_the_servers_own_is_refused_naming_the_field() {
    let real = Protected::start(3600, &[]);
    let as_port: u16 = real.authorization_at.rsplit(':').next().unwrap().parse().unwrap();
    let sb = Sandbox::with_daemon();
    for (mode, field) in [
        ("wrong-resource", "`resource`"),
        ("wrong-issuer", "`issuer`"),
        ("http-endpoint", "`authorization_endpoint`"),
    ] {
        let port = free_port();
        let _server = mcp_server(port, as_port, mode);
        sb.ok(&[
            "add",
            mode,
            "--url",
            &format!("http://127.0.0.1:{port}/mcp"),
            "--no-wait",
        ]);
        sb.wait_state(mode, "failed", START);
        let out = sb.cli(&["login", mode, "--no-browser"]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{mode}: {said}");
        assert!(said.contains(field), "{mode}: {said}");
        assert!(
            !said.contains("/authorize?"),
            "{mode}: no sign-in page was given out: {said}"
        );
    }
    assert_eq!(
        hook(&real.authorization_at, "GET", "/_test/stats")["registrations"],
        0,
        "nothing registered with an authorization server it could not trust"
    );
}

#[test]
fn a_pre_registered_client_signs_in_with_its_secret_kept_in_the_keychain() {
    const SECRET: &str = "pre-registered-secret-8086";
    let protected = Protected::start_with_env(
        3600,
        &["--client", "switchboard-test"],
        &[("TEST_CLIENT_SECRET", SECRET)],
    );
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "protected", "--url", &protected.url, "--no-wait"]);
    sb.wait_state("protected", "failed", START);
    // A login started and then started again: the first one stops listening at once.
    let auth = format!("Bearer {}", sb.token());
    let (status, first) = sb.http(
        "POST",
        "/api/v1/servers/protected/login",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        r#"{"client_id": "switchboard-test"}"#,
    );
    assert_eq!(status, 200, "{first}");
    let first: Value = serde_json::from_str(first.split_once("\r\n\r\n").unwrap().1).unwrap();
    let first_redirect = query_param(first["authorization_url"].as_str().unwrap(), "redirect_uri");

    let (view, page) = login_with(
        &sb,
        "protected",
        "alice",
        &["--client-id", "switchboard-test", "--client-secret-stdin"],
        Some(SECRET),
        |page| {
            let old = first_redirect
                .trim_start_matches("http://")
                .replace("/callback", "");
            common::wait_until("the replaced login to stop listening", START, || {
                std::net::TcpStream::connect(&old).is_err().then_some(())
            });
            // A redirect with another state (a forgery, or a stale tab) is turned away, and the
            // login keeps waiting for its own.
            let redirect = query_param(page, "redirect_uri");
            let forged = format!(
                "{}?state=forged&code=whatever",
                redirect.trim_start_matches("http://")
            );
            let answer = get(&forged).unwrap();
            assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        },
    );
    assert_eq!(view["status"]["state"], "running", "{view}");
    assert_eq!(query_param(&page, "client_id"), "switchboard-test");
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let said: Value = serde_json::from_str(&call_tool(&sb, "protected", "whoami", &token)).unwrap();
    assert_eq!(said["sub"], "alice", "{said}");
    assert_eq!(
        hook(&protected.authorization_at, "GET", "/_test/stats")["registrations"],
        0,
        "the given client was used, none registered"
    );

    // Logged out and in again with no client given: the client and its secret come from the
    // keychain (the authorization server refuses the code exchange without the secret).
    sb.ok(&["logout", "protected"]);
    let (view, page) = login_with(&sb, "protected", "bob", &[], None, |_| {});
    assert_eq!(view["status"]["state"], "running", "{view}");
    assert_eq!(query_param(&page, "client_id"), "switchboard-test");
    let said: Value = serde_json::from_str(&call_tool(&sb, "protected", "whoami", &token)).unwrap();
    assert_eq!(said["sub"], "bob", "{said}");
    assert_eq!(
        hook(&protected.authorization_at, "GET", "/_test/stats")["registrations"],
        0,
        "the kept client was used again, none registered"
    );
    assert_no_leak(&sb, SECRET);
}

#[test]
fn a_client_metadata_document_is_the_client_id_where_the_server_takes_one() {
    const CLIENT_ID: &str = "https://switchboard.test/oauth/client-metadata.json";
    let protected = Protected::start(3600, &["--cimd"]);
    let mut sb = Sandbox::with_env(&[("SWITCHBOARD_OAUTH_CLIENT_METADATA_URL", CLIENT_ID)]);
    sb.start_daemon();
    // The daemon serves the document; the authorization server fetches it from there.
    let origin = format!("http://127.0.0.1:{}", sb.port());
    hook(
        &protected.authorization_at,
        "POST",
        &format!("/_test/cimd-origin?origin={origin}"),
    );
    sb.ok(&["add", "protected", "--url", &protected.url, "--no-wait"]);
    sb.wait_state("protected", "failed", START);
    let (view, page) = login_with(&sb, "protected", "alice", &[], None, |_| {});
    assert_eq!(view["status"]["state"], "running", "{view}");
    assert_eq!(query_param(&page, "client_id"), CLIENT_ID);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let said: Value = serde_json::from_str(&call_tool(&sb, "protected", "whoami", &token)).unwrap();
    assert_eq!(said["sub"], "alice", "{said}");
    assert_eq!(
        hook(&protected.authorization_at, "GET", "/_test/stats")["registrations"],
        0,
        "the document was the client, none registered"
    );
}

/// How many items the keychain (the Secret Service of the wrapper's D-Bus session) holds under
/// `sb`'s keychain service for secret `key`, asked of it directly, not through Switchboard.
fn keychain_items(sb: &Sandbox, key: &str) -> usize {
    let status = sb.json(&["status"]);
    let store = status["secrets_store"].as_str().unwrap();
    let service = store.split('`').nth(1).unwrap_or_else(|| panic!("{store}"));
    let attributes = format!(
        "{{'service': {}, 'username': {}}}",
        Value::from(service),
        Value::from(key)
    )
    .replace('"', "'");
    let out = Command::new("gdbus")
        .args(["call", "--session", "--dest", "org.freedesktop.secrets"])
        .args(["--object-path", "/org/freedesktop/secrets"])
        .args([
            "--method",
            "org.freedesktop.Secret.Service.SearchItems",
            &attributes,
        ])
        .output()
        .unwrap();
    let found = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{found}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    found.matches("/org/freedesktop/secrets/collection/").count()
}

#[test]
fn removing_a_server_deletes_its_login_from_the_keychain() {
    let protected = Protected::start(3600, &[]);
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "removed", "--url", &protected.url, "--no-wait"]);
    sb.wait_state("removed", "failed", START);
    login(&sb, "removed", "alice");
    assert_eq!(
        keychain_items(&sb, "removed/oauth"),
        1,
        "the login's grant is in the keychain"
    );

    // Only the removal: nothing is added again, so nothing else could have deleted it.
    sb.ok(&["rm", "removed"]);
    assert_eq!(
        keychain_items(&sb, "removed/oauth"),
        0,
        "the removed server's grant is gone from the keychain"
    );
    assert_eq!(
        keychain_items(&sb, "removed/oauth-client"),
        0,
        "and so is its client"
    );
}
