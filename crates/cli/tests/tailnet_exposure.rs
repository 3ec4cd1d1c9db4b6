//! Reaching a home machine's servers from a laptop over the tailnet: two hosts in Linux
//! network namespaces joined by a veth pair (home 100.64.0.1; laptop 100.64.0.2, which also
//! carries bob's phone at 100.64.0.3). A logged-in tailnet cannot run here, so each host's
//! tailscaled is the LocalAPI double in `tests/tailnet/localapi_double.py`, which serves the
//! real-shaped status and whois captures; everything else is real: both daemons, the
//! server-everything process on home, and the official Python SDK client on the laptop.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, call_tool, everything_server, node_script, time_server, tools_dir, wait_until};
use serde_json::{Value, json};

const PORT: u16 = 7717;

/// Two network namespaces and the veth pair between them; deleted on drop.
struct Hosts {
    home: String,
    laptop: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap();
    assert!(status.success(), "ip {args:?} failed");
}

impl Hosts {
    fn create() -> Self {
        let id = std::process::id();
        let hosts = Self {
            home: format!("sb-home-{id}"),
            laptop: format!("sb-laptop-{id}"),
        };
        let (home_if, laptop_if) = (format!("sbh{id}"), format!("sbl{id}"));
        ip(&["netns", "add", &hosts.home]);
        ip(&["netns", "add", &hosts.laptop]);
        ip(&[
            "link", "add", &home_if, "type", "veth", "peer", "name", &laptop_if,
        ]);
        ip(&["link", "set", &home_if, "netns", &hosts.home]);
        ip(&["link", "set", &laptop_if, "netns", &hosts.laptop]);
        for (ns, dev, addresses) in [
            (&hosts.home, &home_if, &["100.64.0.1/24"][..]),
            (&hosts.laptop, &laptop_if, &["100.64.0.2/24", "100.64.0.3/24"][..]),
        ] {
            for address in addresses {
                ip(&["-n", ns, "addr", "add", address, "dev", dev]);
            }
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        hosts
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for ns in [&self.home, &self.laptop] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// A host's tailscaled, as far as Switchboard sees it: the LocalAPI double on a socket.
struct LocalApi {
    socket: PathBuf,
    tailnet: PathBuf,
    child: Option<Child>,
}

impl LocalApi {
    fn new(dir: &Path, name: &str, tailnet: Value) -> Self {
        let path = dir.join(format!("{name}-tailnet.json"));
        std::fs::write(&path, tailnet.to_string()).unwrap();
        let mut api = Self {
            socket: dir.join(format!("{name}-tailscaled.sock")),
            tailnet: path,
            child: None,
        };
        api.start();
        api
    }

    fn start(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tailnet/localapi_double.py");
        self.child = Some(
            Command::new("python3")
                .arg(script)
                .arg(&self.socket)
                .arg(&self.tailnet)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
        wait_until("the LocalAPI double", Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&self.socket).ok()
        });
    }

    /// tailscaled goes away: its socket with it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        self.stop();
    }
}

fn node(host: &str, ip: &str, login: &str) -> Value {
    json!({"host": host, "ip": ip, "login": login})
}

/// The TCP sockets listening in a namespace, as `ADDRESS:PORT`.
fn listening(sb: &Sandbox) -> Vec<String> {
    let out = sb.program("ss").args(["-ltnH"]).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(3).map(str::to_owned))
        .collect()
}

fn on_loopback_or_tailnet(address: &str) -> bool {
    ["127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:", "100.64.0."]
        .iter()
        .any(|prefix| address.starts_with(prefix))
}

/// A raw HTTP request from inside `sb`'s namespace, from `source`, to home's tailnet listener
/// (with `Host: 100.64.0.1:7717` unless `headers` name another); returns the status and body.
fn request_from(
    sb: &Sandbox,
    source: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let script = r#"
import http.client, json, sys
source, method, path, headers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
conn = http.client.HTTPConnection("100.64.0.1", 7717, timeout=10, source_address=(source, 0))
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
headers.setdefault("Content-Type", "application/json")
headers.setdefault("Accept", "application/json, text/event-stream")
conn.request(method, path, body=body if method == "POST" else None, headers=headers)
response = conn.getresponse()
print(response.status)
print(response.read().decode())
"#;
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let out = sb
        .program("python3")
        .args([
            "-c",
            script,
            source,
            method,
            path,
            &Value::Object(headers).to_string(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, body) = text.split_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

/// An MCP initialize sent as tailscaled's HTTPS proxy sends it: over the daemon's serve
/// socket, with the caller's address in X-Forwarded-For.
fn via_serve(socket: &Path, forwarded_for: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let forwarded = forwarded_for
        .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
        .unwrap_or_default();
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    write!(
        stream,
        "POST /mcp/everything HTTP/1.1\r\nHost: homebox.tail4c1d2e.ts.net:9443\r\n{forwarded}\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let code = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, answer)
}

#[test]
fn a_laptop_uses_a_server_exposed_on_its_owners_home_machine() {
    let hosts = Hosts::create();
    let dir = tempfile::tempdir().unwrap();
    let alice_laptop = node("alice-laptop", "100.64.0.2", "alice@example.com");
    let bobs_phone = node("bobs-phone", "100.64.0.3", "bob@example.com");
    let homebox = node("homebox", "100.64.0.1", "alice@example.com");
    let mut home_api = LocalApi::new(
        dir.path(),
        "home",
        json!({"self": homebox, "peers": [alice_laptop, bobs_phone]}),
    );
    let laptop_api = LocalApi::new(
        dir.path(),
        "laptop",
        json!({"self": alice_laptop, "peers": [homebox, bobs_phone]}),
    );

    let mut home = Sandbox::with_env(&[("SWITCHBOARD_TAILSCALE_SOCKET", home_api.socket.to_str().unwrap())])
        .in_netns(&hosts.home);
    home.start_daemon();
    home.ok(&[
        "add",
        "everything",
        "-e",
        "HOME_ONLY_MARK=runs-on-homebox",
        "--",
        &everything_server(),
    ]);
    home.ok(&["add", "time", "--", &time_server()]);
    home.wait_state("everything", "running", Duration::from_secs(60));

    // Nothing exposed: nothing listens beyond loopback.
    let status = home.json(&["tailnet", "status"]);
    assert_eq!(status["state"], "running", "{status}");
    assert_eq!(status["listening"], json!([]), "{status}");
    assert!(
        listening(&home).iter().all(|a| a.starts_with("127.0.0.1:")),
        "{:?}",
        listening(&home)
    );

    let exposed = home.json(&["tailnet", "expose", "everything"]);
    assert_eq!(exposed, json!({"server": "everything", "to": []}));
    let status = wait_until("the tailnet listener to open", Duration::from_secs(20), || {
        let status = home.json(&["tailnet", "status"]);
        (status["listening"] == json!([format!("100.64.0.1:{PORT}")])).then_some(status)
    });
    assert_eq!(status["exposed"], json!([{"server": "everything", "to": []}]));
    let text = home.ok(&["tailnet", "status"]);
    assert!(
        text.contains("everything") && text.contains("your devices"),
        "{text}"
    );

    // The laptop finds home, sees only what home exposes to alice, and adds it.
    let mut laptop = Sandbox::with_env(&[(
        "SWITCHBOARD_TAILSCALE_SOCKET",
        laptop_api.socket.to_str().unwrap(),
    )])
    .in_netns(&hosts.laptop)
    .own_user_home();
    laptop.start_daemon();
    let peers = laptop.json(&["tailnet", "peers"]);
    assert_eq!(
        peers.as_array().unwrap().len(),
        1,
        "only home runs Switchboard: {peers}"
    );
    assert_eq!(peers[0]["host_name"], "homebox");
    assert_eq!(peers[0]["address"], "100.64.0.1");
    assert_eq!(
        peers[0]["servers"],
        json!([{"name": "everything", "path": "/mcp/everything"}]),
        "the unexposed `time` is not listed"
    );
    let refused = laptop.cli(&["tailnet", "remote", "add", "homebox/time"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("does not offer server time") && said.contains("everything"),
        "{said}"
    );

    let added = laptop.json(&[
        "tailnet",
        "remote",
        "add",
        "homebox/everything",
        "--as",
        "home-everything",
    ]);
    assert_eq!(added["status"]["state"], "running", "{added}");
    assert_eq!(
        added["transport"]["url"],
        format!("http://100.64.0.1:{PORT}/mcp/everything")
    );

    // The laptop's dashboard lists home's offer too, and adds it with one click.
    let sign_in = laptop.ok(&["open", "--no-browser"]);
    let shots = std::env::var_os("SWITCHBOARD_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| laptop.home().join("screenshots"));
    let script = node_script("ui/tailnet_peers.mjs");
    let status = laptop
        .program("node")
        .arg(&script.0)
        .arg(sign_in.trim())
        .arg(&shots)
        .status()
        .unwrap();
    assert!(status.success(), "the laptop's Tailnet page failed");
    laptop.wait_state("home-everything-ui", "running", Duration::from_secs(30));

    // The laptop's own client calls a tool that runs on home, with no token between devices.
    let token = laptop.json(&["token", "create", "python-sdk"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let env = call_tool(&laptop, "home-everything", "get-env", &token);
    assert!(env.contains("runs-on-homebox"), "the tool ran elsewhere: {env}");

    // Claude Desktop on the laptop reaches it too, through the shim its config entry launches.
    let claude = laptop
        .user_home()
        .join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(claude.parent().unwrap()).unwrap();
    std::fs::write(&claude, "{}").unwrap();
    laptop.ok(&[
        "clients",
        "connect",
        "claude-desktop",
        "--servers",
        "home-everything",
    ]);
    let config: Value = serde_json::from_slice(&std::fs::read(&claude).unwrap()).unwrap();
    let entry = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(entry.path(), config["mcpServers"]["home-everything"].to_string()).unwrap();
    let out = laptop
        .program(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sdk_client.py"))
        .arg("entry")
        .arg(entry.path())
        .env_remove("SWITCHBOARD_HOME")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && listed.contains("\"get-env\""), "{listed}");

    // Home's history says which peer called what.
    let calls = home.json(&["history", "--server", "everything"]);
    assert!(
        calls
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["tool"] == "get-env" && c["client"] == "alice@example.com on alice-laptop"),
        "{calls}"
    );

    // Bob (a peer not on the list) is refused, and is offered nothing.
    let (code, body) = request_from(&laptop, "100.64.0.3", "POST", "/mcp/everything", &[]);
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("bob@example.com may not reach"), "{body}");
    let (code, body) = request_from(&laptop, "100.64.0.3", "GET", "/.well-known/switchboard", &[]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["servers"],
        json!([])
    );
    // HTTPS through Tailscale Serve: one entry beside what the user already serves.
    let seeded = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tailnet/tests/fixtures/synthetic-serve-config-multi-with-funnel.json"),
    )
    .unwrap();
    let serve_file = home_api.tailnet.with_extension("json.serve");
    std::fs::write(&serve_file, &seeded).unwrap();
    let taken = home.cli(&["tailnet", "https", "on"]);
    assert!(
        !taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stdout)
    );
    let said = String::from_utf8_lossy(&taken.stderr);
    assert!(said.contains("port 443 of this node is already served"), "{said}");
    let status = home.json(&["tailnet", "https", "on", "9443"]);
    assert_eq!(
        status["https"], "https://homebox.tail4c1d2e.ts.net:9443",
        "{status}"
    );
    let served: Value = serde_json::from_str(&std::fs::read_to_string(&serve_file).unwrap()).unwrap();
    let socket = home.home().join("tailnet-serve.sock");
    assert_eq!(
        served["Web"]["homebox.tail4c1d2e.ts.net:9443"],
        json!({"Handlers": {"/": {"Proxy": format!("unix:{}", socket.display())}}})
    );
    assert_eq!(served["TCP"]["9443"], json!({"HTTPS": true}));
    let seeded: Value = serde_json::from_str(&seeded).unwrap();
    assert_eq!(
        served["AllowFunnel"], seeded["AllowFunnel"],
        "Funnel is never turned on"
    );
    assert_eq!(
        served["Web"]["homebox.tail4c1d2e.ts.net:443"],
        seeded["Web"]["homebox.tail4c1d2e.ts.net:443"]
    );
    // What tailscaled's proxy sends: the peer's address in X-Forwarded-For.
    let (code, body) = via_serve(&socket, Some("100.64.0.2"));
    assert_eq!(code, 200, "alice over HTTPS: {body}");
    let (code, body) = via_serve(&socket, Some("100.64.0.3"));
    assert_eq!(code, 403, "bob over HTTPS: {body}");
    for unnamed in [None, Some("100.64.0.99")] {
        assert_eq!(via_serve(&socket, unnamed).0, 403, "{unnamed:?}");
    }
    // Only tailscaled (root) and the daemon's own user can open that socket.
    let other_user = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            "/usr/bin/python3",
            "-c",
        ])
        .arg("import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])")
        .arg(&socket)
        .output()
        .unwrap();
    assert!(!other_user.status.success());
    let said = String::from_utf8_lossy(&other_user.stderr);
    assert!(said.contains("PermissionError"), "{said}");
    let status = home.json(&["tailnet", "https", "off"]);
    assert_eq!(status.get("https"), None);
    let restored: Value = serde_json::from_str(&std::fs::read_to_string(&serve_file).unwrap()).unwrap();
    assert_eq!(restored, seeded, "what the user served is as it was");

    // Listing bob lets him in; alice keeps her access.
    home.ok(&["tailnet", "expose", "everything", "--to", "bob@example.com"]);
    let (code, body) = request_from(&laptop, "100.64.0.3", "POST", "/mcp/everything", &[]);
    assert_eq!(code, 200, "{body}");

    // A browser page (any Origin), or a name that is not home's (DNS rebinding), is refused.
    let (code, _) = request_from(
        &laptop,
        "100.64.0.2",
        "POST",
        "/mcp/everything",
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(code, 403);
    let (code, _) = request_from(
        &laptop,
        "100.64.0.2",
        "POST",
        "/mcp/everything",
        &[("Host", "evil.example:7717")],
    );
    assert_eq!(code, 403);
    // A process on home itself is local, not a peer: it needs a client token, as on loopback.
    let (code, body) = request_from(&home, "100.64.0.1", "POST", "/mcp/everything", &[]);
    assert_eq!(code, 401, "{body}");

    // Nothing listens anywhere but loopback and the tailnet, on either host.
    for sb in [&home, &laptop] {
        let sockets = listening(sb);
        assert!(sockets.iter().all(|a| on_loopback_or_tailnet(a)), "{sockets:?}");
    }

    // tailscaled stops: home says so, stops listening, and does not crash.
    home_api.stop();
    let status = wait_until("home to see Tailscale gone", Duration::from_secs(20), || {
        let status = home.json(&["tailnet", "status"]);
        (status["state"] == "not_running" && status["listening"] == json!([])).then_some(status)
    });
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("tailscaled is not running"),
        "{status}"
    );
    assert_eq!(
        status["exposed"][0]["server"], "everything",
        "exposure is kept: {status}"
    );
    assert!(!listening(&home).iter().any(|a| a.starts_with("100.64.0.1:")));
    let text = home.ok(&["tailnet", "status"]);
    assert!(text.contains("not listening until Tailscale runs"), "{text}");

    // It comes back: so does the listener, and the laptop's calls work again.
    home_api.start();
    wait_until("the listener to reopen", Duration::from_secs(20), || {
        let status = home.json(&["tailnet", "status"]);
        (status["listening"] == json!([format!("100.64.0.1:{PORT}")])).then_some(())
    });
    let env = call_tool(&laptop, "home-everything", "get-env", &token);
    assert!(env.contains("runs-on-homebox"));

    // Unexposed: gone from the offer, refused, and the listener closes.
    home.ok(&["tailnet", "unexpose", "everything"]);
    wait_until("the listener to close", Duration::from_secs(20), || {
        (!listening(&home).iter().any(|a| a.starts_with("100.64.0.1:"))).then_some(())
    });
    let peers = laptop.json(&["tailnet", "peers"]);
    assert_eq!(peers, json!([]), "nothing exposed, nothing listening: {peers}");
}
