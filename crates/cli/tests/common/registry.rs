//! A local MCP registry for end-to-end tests (tests/registry/serve.py serving the real
//! fixture data) and a sandbox whose daemon installs from it offline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::{Sandbox, tools_dir};

fn repo() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// tests/registry/serve.py on a free port, killed on drop.
pub struct FakeRegistry {
    child: Child,
    port: u16,
}

impl FakeRegistry {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(repo().join("tests/registry/serve.py"))
            .arg(repo().join("tests/registry/registry-sample.json"))
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
        Self { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = body.to_string();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (_, payload) = response.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(payload).unwrap()
    }

    pub fn publish(&self, server: Value) {
        self.call("POST", "/_test/publish", &json!({ "server": server }));
    }

    /// Publishes `server` with the registry's `publishedAt` set to `published_at`.
    pub fn publish_at(&self, server: Value, published_at: &str) {
        let body = json!({ "server": server, "publishedAt": published_at });
        self.call("POST", "/_test/publish", &body);
    }

    pub fn fault(&self, mode: Option<&str>) {
        self.call("POST", "/_test/fault", &json!({ "mode": mode }));
    }

    pub fn set_status(&self, name: &str, version: &str, status: &str) {
        self.call(
            "POST",
            "/_test/status",
            &json!({"name": name, "version": version, "status": status}),
        );
    }

    pub fn requests(&self) -> Vec<String> {
        serde_json::from_value(self.call("GET", "/_test/requests", &Value::Null)).unwrap()
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sandbox whose daemon uses `registry`, finds uv, and fetches packages only from the
/// caches `scripts/install-test-tools.sh` filled: no test reaches npm or PyPI.
pub fn sandbox_with(registry: &FakeRegistry, extra: &[(&str, &str)]) -> Sandbox {
    let mut sb = offline_sandbox(registry, extra);
    sb.start_daemon();
    sb
}

/// Like [`sandbox_with`], with the daemon not yet started.
pub fn offline_sandbox(registry: &FakeRegistry, extra: &[(&str, &str)]) -> Sandbox {
    let tools = tools_dir();
    let path = format!(
        "{}:{}",
        tools.join("uv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cache = tools.join("npm-cache").display().to_string();
    let wheels = tools.join("wheelhouse").display().to_string();
    let mut env = vec![
        ("SWITCHBOARD_REGISTRY", registry.url()),
        ("PATH", path),
        ("npm_config_cache", cache),
        ("npm_config_offline", "true".to_owned()),
        ("UV_OFFLINE", "1".to_owned()),
        ("UV_FIND_LINKS", wheels),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Sandbox::with_env(&env)
}

pub fn fixture_server(name: &str) -> Value {
    let page: Value =
        serde_json::from_slice(&std::fs::read(repo().join("tests/registry/registry-sample.json")).unwrap())
            .unwrap();
    page["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["server"].clone())
        .find(|server| server["name"] == name)
        .unwrap()
}

/// The fixture's server-time document at another published version. Its own 0.6.2 declares
/// `mcp>=1.0.0` and no longer starts: today's mcp 2.x removed a name it imports.
pub fn time_document(version: &str) -> Value {
    let mut server = fixture_server("io.github.modelcontextprotocol/server-time");
    server["version"] = json!(version);
    server["packages"][0]["version"] = json!(version);
    server
}
