//! The dashboard, end to end: the web UI the daemon serves at `/`, driven page by page in a
//! real browser (Debian's chromium through playwright-core, `tests/ui/dashboard.mjs`) against
//! a real daemon with a real MCP server, the local registry fixture, the keychain, a client
//! config file and a tailscaled LocalAPI double. What the browser did is then checked from
//! the daemon's side. Screenshots of every page go to `$SWITCHBOARD_SCREENSHOTS` when set
//! (`docs/screenshots` is refreshed that way), else to a temporary directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::registry::{FakeRegistry, offline_sandbox, time_document};
use common::{Sandbox, assert_no_leak, call_tool, free_port, node_script, time_server, wait_until};
use serde_json::{Value, json};

/// A value no page may ever show and no file may ever hold.
const SECRET: &str = "dashboard-secret-8d1f0c77";

/// The LocalAPI double as a logged-in node whose Tailscale address is a loopback one, so the
/// tailnet listener can bind it without a network namespace; no peers.
struct Tailscaled(Child);

impl Tailscaled {
    fn start(sb: &Sandbox, socket: &std::path::Path) -> Self {
        let tailnet = sb.home().join("tailnet.json");
        let node = json!({"host": "homebox", "ip": "127.0.0.2", "login": "alice@example.com"});
        std::fs::write(&tailnet, json!({"self": node, "peers": []}).to_string()).unwrap();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tailnet/localapi_double.py");
        let child = Command::new("python3")
            .arg(script)
            .arg(socket)
            .arg(&tailnet)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the LocalAPI double", Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(socket).ok()
        });
        Self(child)
    }
}

impl Drop for Tailscaled {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_page_works_in_a_real_browser_against_a_real_daemon() {
    let registry = FakeRegistry::start(&[]);
    let mut server = time_document("2026.10.19");
    server["packages"][0]["environmentVariables"] = json!([
        {"name": "TIME_API_KEY", "description": "A key the server is given", "isRequired": true, "isSecret": true}
    ]);
    registry.publish(server);
    let socket = std::env::temp_dir().join(format!("sb-dashboard-{}.sock", std::process::id()));
    let tailnet_port = free_port().to_string();
    let mut sb = offline_sandbox(
        &registry,
        &[("SWITCHBOARD_TAILSCALE_SOCKET", socket.to_str().unwrap())],
    )
    .own_user_home();
    let _tailscaled = Tailscaled::start(&sb, &socket);
    sb.start_daemon_with(&["--tailnet-port", &tailnet_port]);

    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", Duration::from_secs(60));
    let token = sb.ok(&["token", "create", "claude-code"]).trim().to_owned();
    // Less than any tool costs: Cursor, once connected, is over its budget.
    sb.ok(&["token", "budget", "cursor", "50"]);
    call_tool(&sb, "time", "get_current_time", &token);

    let shots = std::env::var_os("SWITCHBOARD_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| sb.home().join("screenshots"));
    let sign_in = sb.ok(&["open", "--no-browser"]);
    let cursor = sb.user_home().join(".cursor/mcp.json");
    let script = node_script("ui/dashboard.mjs");
    let status = Command::new("node")
        .arg(&script.0)
        .arg(sign_in.trim())
        .arg(&shots)
        .arg(&cursor)
        .env("DASHBOARD_SECRET", SECRET)
        .env(
            "DASHBOARD_GATEWAY",
            format!("http://127.0.0.1:{}/mcp/time", sb.port()),
        )
        .env("DASHBOARD_CLIENT_TOKEN", &token)
        .env("DASHBOARD_TIME_SERVER", time_server())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the dashboard run failed (see its output; {}/failed.png)",
        shots.display()
    );

    // What the browser did, as the daemon has it.
    let time = sb.server("time");
    assert_eq!(time["restart"], "always", "the settings form saved: {time}");
    // Added by hand, fixed from its page: the key is a keychain reference, the edit saved.
    let keyed = sb.server("keyed");
    assert_eq!(keyed["status"]["state"], "running", "{keyed}");
    let guard = sb.json(&["secrets", "guard", "keyed"]);
    assert_eq!(
        guard["results"], "block",
        "the Secrets tab saved the choice: {guard}"
    );
    assert_eq!(keyed["transport"]["command"], "sh", "{keyed}");
    assert_eq!(keyed["transport"]["env"]["GREETING"], "hello", "{keyed}");
    assert_eq!(
        keyed["transport"]["env"]["API_KEY"],
        json!({"secret": "keyed/API_KEY"}),
        "{keyed}"
    );
    let installed = sb.server("server-time");
    assert_eq!(installed["status"]["state"], "running", "{installed}");
    assert_eq!(
        installed["origin"]["name"],
        "io.github.modelcontextprotocol/server-time"
    );
    let secrets = sb.json(&["secrets", "ls", "server-time"]);
    assert_eq!(
        secrets[0]["set"], true,
        "the masked input went to the keychain: {secrets}"
    );
    let clients: Value = sb.json(&["clients"]);
    let cursor_client = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "cursor")
        .unwrap();
    assert!(
        cursor_client["wiring"].is_null(),
        "Cursor was disconnected: {cursor_client}"
    );
    let tailnet = sb.json(&["tailnet", "status"]);
    assert_eq!(
        tailnet["exposed"],
        json!([{"server": "time", "to": ["bob@example.com", "tag:ci"]}]),
        "{tailnet}"
    );
    assert_no_leak(&sb, SECRET);
    for page in [
        "servers",
        "server-tools",
        "server-logs",
        "discover",
        "clients",
        "tailnet",
        "activity",
    ] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "no screenshot of {page}"
        );
    }
}

#[test]
fn the_dashboard_is_served_with_a_strict_policy_and_only_to_this_listener() {
    let sb = Sandbox::with_daemon();
    let (status, page) = sb.http("GET", "/", &[], "");
    assert_eq!(status, 200);
    assert!(
        page.contains("<div id=\"app\">"),
        "the built UI is embedded: {page}"
    );
    assert!(
        page.contains("content-security-policy: default-src 'self'"),
        "{page}"
    );
    let script = page.split("src=\"").nth(1).unwrap().split('"').next().unwrap();
    let (status, _) = sb.http("GET", script, &[], "");
    assert_eq!(status, 200, "{script}");
    let (status, _) = sb.http("GET", "/", &[("Host", "evil.example:80")], "");
    assert_eq!(status, 403, "a foreign Host (DNS rebinding) is refused");

    // A code works once; the browser token it becomes opens the API; signing out ends it.
    let code = sb.json(&["open", "--no-browser"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let redeem = json!({ "code": code }).to_string();
    let json_body = [("Content-Type", "application/json")];
    let (status, response) = sb.http("POST", "/api/v1/web/sessions", &json_body, &redeem);
    assert_eq!(status, 200, "{response}");
    let token: Value = serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap();
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    let (status, _) = sb.http("POST", "/api/v1/web/sessions", &json_body, &redeem);
    assert_eq!(status, 401, "a code is single use");
    let (status, _) = sb.http("GET", "/api/v1/servers", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200);
    let (status, _) = sb.http(
        "DELETE",
        "/api/v1/web/sessions",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(status, 204);
    let (status, _) = sb.http("GET", "/api/v1/servers", &[("Authorization", &bearer)], "");
    assert_eq!(status, 401, "signed out");
    let (status, _) = sb.http("GET", "/api/v1/servers", &[], "");
    assert_eq!(status, 401);
}
