//! Harness for end-to-end tests: the real `switchboard` binary, a private data directory,
//! real MCP servers installed by `scripts/install-test-tools.sh`, and waits with deadlines.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod desktop;
pub mod logind;
pub mod manager;
pub mod registry;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// Where the test setup installed real servers.
pub fn tools_dir() -> PathBuf {
    let dir = std::env::var_os("SWITCHBOARD_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/test-tools"));
    assert!(
        dir.join("venv/bin/mcp-server-time").exists()
            && dir.join("npm/node_modules/.bin/mcp-server-everything").exists(),
        "real MCP servers are missing from {}; run scripts/install-test-tools.sh",
        dir.display()
    );
    dir
}

/// mcp-server-time, from PyPI.
pub fn time_server() -> String {
    tools_dir().join("venv/bin/mcp-server-time").display().to_string()
}

/// A launcher of mcp-server-time in `sb` whose local timezone (which the server writes into
/// its tools' schemas) is read from a file, first `zone`: writing another zone to the file
/// makes the next run a changed version. Returns the launcher and the file.
pub fn time_launcher(sb: &Sandbox, zone: &str) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let zone_file = sb.home().join("zone");
    std::fs::write(&zone_file, zone).unwrap();
    let launcher = sb.home().join("time-server");
    let script = format!(
        "#!/bin/sh\nexec '{}' --local-timezone \"$(cat '{}')\"\n",
        time_server(),
        zone_file.display()
    );
    std::fs::write(&launcher, script).unwrap();
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755)).unwrap();
    (launcher, zone_file)
}

/// @modelcontextprotocol/server-everything, from npm.
pub fn everything_server() -> String {
    tools_dir()
        .join("npm/node_modules/.bin/mcp-server-everything")
        .display()
        .to_string()
}

/// `mcp-echo` (bench/echo), built with the workspace; built here if this run has not.
pub fn echo_server() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let echo = dir.join("mcp-echo");
    if !echo.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "switchboard-bench", "--bin", "mcp-echo"])
            .status()
            .unwrap();
        assert!(status.success(), "cannot build mcp-echo");
    }
    echo
}

/// Reads JSON-RPC messages (JSON body or SSE events) from a response as they arrive.
pub fn messages(stream: TcpStream) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let data = line.strip_prefix("data: ").unwrap_or(&line);
            if let Ok(value) = serde_json::from_str::<Value>(data)
                && value.is_object()
                && tx.send(value).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Runs an SDK client script with `token`; what it printed last, as JSON.
pub fn run_client(mut command: Command, token: &str) -> Value {
    let out = command
        .env("SWITCHBOARD_TOKEN", token)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client failed: {stdout}");
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

/// The repository's SDK client scripts (`tests/clients`).
pub fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients")
}

/// The Python SDK client (`sdk_client.py ARGS`) run with `token`; what it printed last.
pub fn sdk_python(args: &[&str], token: &str) -> Value {
    let mut command = Command::new(tools_dir().join("venv/bin/python"));
    command.arg(clients_dir().join("sdk_client.py")).args(args);
    run_client(command, token)
}

/// The TypeScript SDK client (`sdk_client.mjs ARGS`) run with `token`; what it printed last.
pub fn sdk_typescript(args: &[&str], token: &str) -> Value {
    let script = node_script("clients/sdk_client.mjs");
    let mut command = Command::new("node");
    command.arg(&script.0).args(args);
    run_client(command, token)
}

/// A copy of the repository's `tests/<relative>` script beside the tools' node_modules, since
/// ESM resolves packages next to the script. Removed when the returned guard drops.
pub fn node_script(relative: &str) -> TempScript {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests")
        .join(relative);
    let name = Path::new(relative)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let unique = format!(
        "{}-{}-{name}",
        std::process::id(),
        NEXT_SCRIPT.fetch_add(1, Ordering::Relaxed)
    );
    let path = tools_dir().join("npm").join(unique);
    std::fs::copy(source, &path).unwrap();
    TempScript(path)
}

static NEXT_SCRIPT: AtomicU32 = AtomicU32::new(0);

pub struct TempScript(pub PathBuf);

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` until it gives a value, failing the test after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A data directory with (at most) one daemon running on it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    daemon: Option<Child>,
    /// A home directory of its own for the daemon, where AI clients' config files live.
    user_home: Option<PathBuf>,
    /// Variables set for every command run in this sandbox, the daemon included.
    env: Vec<(String, String)>,
    /// A network namespace every command of this sandbox runs in, the daemon included.
    netns: Option<String>,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            daemon: None,
            user_home: None,
            env: Vec::new(),
            netns: None,
        }
    }

    /// Runs every command of this sandbox (the daemon included) in network namespace `ns`.
    pub fn in_netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_owned());
        self
    }

    /// `program`, run in this sandbox's network namespace if it has one.
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    /// A sandbox whose commands (the daemon included) also get `vars`; the daemon is not
    /// started, so a test can prepare first.
    pub fn with_env(vars: &[(&str, &str)]) -> Self {
        let mut sandbox = Self::new();
        sandbox.env = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        sandbox
    }

    /// A sandbox whose daemon sees `<sandbox>/user` as the home directory (and no variables
    /// that move clients' files), so client config tests never touch the real user's files.
    pub fn with_user_home() -> Self {
        let mut sandbox = Self::new().own_user_home();
        sandbox.start_daemon();
        sandbox
    }

    /// This sandbox with `<sandbox>/user` as the daemon's home directory (see
    /// [`Sandbox::with_user_home`]); the daemon is not started.
    pub fn own_user_home(mut self) -> Self {
        let home = self.home().join("user");
        std::fs::create_dir_all(&home).unwrap();
        self.user_home = Some(home);
        self
    }

    pub fn user_home(&self) -> &Path {
        self.user_home.as_deref().expect("a sandbox made with_user_home")
    }

    /// A sandbox with a daemon up and answering.
    pub fn with_daemon() -> Self {
        let mut sandbox = Self::new();
        sandbox.start_daemon();
        sandbox
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self) -> Command {
        self.with_sandbox_env(BIN)
    }

    /// `program` with this sandbox's data directory, variables and user home: what the
    /// `switchboard` binary itself gets, for programs that start it (the desktop app).
    pub fn with_sandbox_env(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = self.program(program);
        command
            .env("SWITCHBOARD_HOME", self.home())
            .env("SWITCHBOARD_PORT", "0")
            .env_remove("SWITCHBOARD_LOG")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(home) = &self.user_home {
            command.env("HOME", home);
            for moved in [
                "XDG_CONFIG_HOME",
                "XDG_DATA_HOME",
                "CLAUDE_CONFIG_DIR",
                "CURSOR_CONFIG_DIR",
                "CODEX_HOME",
                "GEMINI_CLI_HOME",
                "CLINE_MCP_SETTINGS_PATH",
                "CLINE_DATA_DIR",
                "CLINE_DIR",
                "GOOSE_PATH_ROOT",
                "OPENCODE_CONFIG",
                "OPENCODE_CONFIG_DIR",
                "COPILOT_HOME",
                "FLATPAK_XDG_CONFIG_HOME",
            ] {
                command.env_remove(moved);
            }
        }
        command
    }

    pub fn start_daemon(&mut self) {
        self.start_daemon_with(&[]);
    }

    /// Starts the daemon with extra `switchboard daemon` flags.
    pub fn start_daemon_with(&mut self, flags: &[&str]) {
        assert!(
            self.daemon.is_none(),
            "a daemon is already running in this sandbox"
        );
        let _ = std::fs::remove_file(self.home().join("daemon.json"));
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.home().join("daemon.log"))
            .unwrap();
        let child = self
            .command()
            .arg("daemon")
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(child);
        wait_until("the daemon to answer", Duration::from_secs(20), || {
            let info = std::fs::read(self.home().join("daemon.json")).ok()?;
            let info: Value = serde_json::from_slice(&info).ok()?;
            let port = u16::try_from(info["port"].as_u64()?).ok()?;
            if self.netns.is_some() {
                // Its loopback is the namespace's: only a command run there reaches it.
                return self.cli(&["status"]).status.success().then_some(());
            }
            TcpStream::connect(("127.0.0.1", port)).ok().map(drop)
        });
    }

    pub fn daemon_pid(&self) -> u32 {
        self.daemon.as_ref().expect("daemon running").id()
    }

    pub fn port(&self) -> u16 {
        let info: Value =
            serde_json::from_slice(&std::fs::read(self.home().join("daemon.json")).unwrap()).unwrap();
        u16::try_from(info["port"].as_u64().unwrap()).unwrap()
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.home().join("control.token"))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// SIGKILL, the way a crash or the OOM killer ends the daemon.
    pub fn kill_daemon_hard(&mut self) {
        let mut child = self.daemon.take().expect("daemon running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, the way a service manager stops it; waits for it to exit.
    pub fn stop_daemon(&mut self) -> std::process::ExitStatus {
        let mut child = self.daemon.take().expect("daemon running");
        signal(child.id(), libc_sigterm());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not stop within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `switchboard secrets set SERVER NAME` with `value` on stdin, as a person pastes it.
    pub fn set_secret(&self, server: &str, name: &str, value: &str) -> Output {
        let mut child = self
            .command()
            .args(["secrets", "set", server, name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs a CLI command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "switchboard {args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        serde_json::from_str(&self.ok(&with_json)).unwrap()
    }

    pub fn servers(&self) -> Vec<Value> {
        self.json(&["ls"]).as_array().unwrap().clone()
    }

    pub fn server(&self, name: &str) -> Value {
        self.servers()
            .into_iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no server {name}"))
    }

    /// Waits until `name` is in `state` and returns its view.
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Value {
        wait_until(&format!("{name} to be {state}"), timeout, || {
            let view = self.server(name);
            (view["status"]["state"] == state).then_some(view)
        })
    }

    pub fn runs(&self, name: &str) -> Vec<Value> {
        self.json(&["runs", name]).as_array().unwrap().clone()
    }

    pub fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.home().join("daemon.log")).unwrap_or_default()
    }

    /// Opens a raw HTTP/1.1 connection to the daemon and sends one request.
    pub fn http_send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> TcpStream {
        let port = self.port();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        stream
    }

    /// A raw HTTP request; returns the status code and the whole response.
    pub fn http(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut response = String::new();
        self.http_send(method, path, headers, body)
            .read_to_string(&mut response)
            .unwrap();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        (status, response)
    }

    pub fn http_status(&self, headers: &[(&str, &str)], path: &str) -> u16 {
        self.http("GET", path, headers, "").0
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            let _ = self.stop_daemon();
        }
        if std::thread::panicking() {
            eprintln!("--- daemon log ---\n{}", self.daemon_log());
        }
    }
}

fn libc_sigterm() -> i32 {
    15
}

pub fn signal(pid: u32, signal: i32) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// How many file descriptors `pid` has open.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// (pid, parent pid, process group) of every live process, from /proc.
fn processes() -> Vec<(u32, u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            continue;
        }
        let number = |i: usize| fields.get(i).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
        found.push((pid, number(1), number(2)));
    }
    found
}

/// Every live descendant of `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, _) in &all {
            if ppid == parent {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// Every live member of process group `pgid`, wherever its parent went.
pub fn group_members(pgid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|&(_, _, group)| group == pgid)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Counts a stdio server's tools by speaking MCP to it directly, without Switchboard.
pub fn count_tools_directly(program: &str, args: &[&str]) -> u64 {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(message) = serde_json::from_str(&line)
                && tx.send(message).is_err()
            {
                break;
            }
        }
    });
    let mut send = |method: &str, id: Option<u64>, params: Value| -> Value {
        let message = match id {
            Some(id) => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            None => json!({"jsonrpc": "2.0", "method": method}),
        };
        writeln!(stdin, "{message}").unwrap();
        let Some(id) = id else { return Value::Null };
        loop {
            let answer = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("the server answered");
            if answer["id"] == id {
                return answer["result"].clone();
            }
        }
    };
    let init = json!({"protocolVersion": "2025-06-18", "capabilities": {"roots": {"listChanged": true}, "sampling": {}, "elicitation": {"form": {}, "url": {}}}, "clientInfo": {"name": "test", "version": "1"}});
    send("initialize", Some(1), init);
    send("notifications/initialized", None, Value::Null);
    let mut count = 0;
    let mut cursor = Value::Null;
    for id in 2.. {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        let page = send("tools/list", Some(id), params);
        count += page["tools"].as_array().unwrap().len() as u64;
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    count
}

/// Connects with the Python SDK as an AI client would from `entry` (its config entry: a
/// program with args and env, or a URL with headers), lists the tools and makes `calls`
/// (tool name -> arguments). Nothing of the test's environment names the daemon.
pub fn use_entry(entry: &Value, calls: &Value) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), entry.to_string()).unwrap();
    let out = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sdk_client.py"))
        .arg("entry")
        .arg(file.path())
        .arg(calls.to_string())
        .env_remove("SWITCHBOARD_HOME")
        .env_remove("SWITCHBOARD_TOKEN")
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the SDK client failed with entry {entry}: {stdout}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
}

/// Calls `tool` (without arguments) of `server` through the gateway with the official Python
/// SDK, and returns the text it answered.
pub fn call_tool(sb: &Sandbox, server: &str, tool: &str, token: &str) -> String {
    let out = sb
        .program(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sdk_client.py"))
        .args([
            "call",
            &format!("http://127.0.0.1:{}/mcp/{server}", sb.port()),
            tool,
        ])
        .env("SWITCHBOARD_TOKEN", token)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the SDK client failed");
    let seen: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    seen["text"].as_str().unwrap().to_owned()
}

/// `secret` appears in no file of the data directory (which holds the user home of a sandbox
/// made `with_user_home`, and with it the clients' config files), no process's command line
/// and no answer of the control API.
pub fn assert_no_leak(sb: &Sandbox, secret: &str) {
    let mut stack = vec![sb.home().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(!found, "the secret is in {}", path.display());
            }
        }
    }
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains(secret),
        "the secret is on a command line"
    );
    for args in [
        &["ls"][..],
        &["status"],
        &["doctor"],
        &["clients"],
        &["token", "ls"],
        &["history"],
    ] {
        let answer = sb.ok(&[args, &["--json"]].concat());
        assert!(!answer.contains(secret), "the secret is in `{args:?}`");
    }
}

/// How long a session client may take to print what it saw.
const CLIENT_PATIENCE: Duration = Duration::from_secs(60);

/// The Python SDK client's `offered` scenario, kept open: its first report, then (once it is
/// told the list changed) its last.
pub struct OfferedClient {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl OfferedClient {
    pub fn start(sb: &Sandbox, path: &str, calls: &str, token: &str, root: Option<&str>) -> Self {
        let mut child = Command::new(tools_dir().join("venv/bin/python"))
            .arg(clients_dir().join("sdk_client.py"))
            .args(["offered", &format!("http://127.0.0.1:{}", sb.port()), path, calls])
            .args(root)
            .env("SWITCHBOARD_TOKEN", token)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(CLIENT_PATIENCE)
            .unwrap_or_else(|e| panic!("the Python client printed nothing within {CLIENT_PATIENCE:?}: {e}"));
        serde_json::from_str(&line).unwrap()
    }

    pub fn first(&mut self) -> Value {
        self.next()
    }

    pub fn last(mut self) -> Value {
        let last = self.next();
        assert!(self.child.wait().unwrap().success());
        last
    }
}

impl Drop for OfferedClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The next event of `kind` the daemon announces on `events` ([`messages`] of its event
/// stream), within a minute.
pub fn next_event(events: &mpsc::Receiver<Value>, kind: &str) -> Value {
    let deadline = Instant::now() + CLIENT_PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no {kind} event within {CLIENT_PATIENCE:?}"));
        if event["type"] == kind {
            return event;
        }
    }
}
