//! Faults under load. Sessions call tools through the gateway without pause while upstream
//! processes are SIGKILLed at random a few hundred times, and then while the daemon itself is
//! SIGKILLed and started again. Every call must be answered (a result, or a JSON-RPC error
//! saying the server is unavailable) within the client's timeout; no server process may
//! outlive its daemon or be left twice; the daemon's file descriptors and memory come back to
//! where they were; and after the daemon's restart the sessions reconnect with the same client
//! token and nothing committed to the store is gone.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Sandbox, echo_server, free_port, open_fds, signal, wait_until};
use serde_json::{Value, json};

const SERVERS: usize = 6;
const SESSIONS: usize = 18;
const KILLS: usize = 300;
/// What a client waits for an answer: more than the gateway's patience for a server that is
/// (re)starting (30 s), as the SDKs' own default (60 s) is.
const CALL_TIMEOUT: Duration = Duration::from_secs(45);
const SIGKILL: i32 = 9;

fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// How one call ended, as its client saw it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ended {
    Result,
    /// A JSON-RPC error answer, by code.
    RpcError(i64),
    /// An HTTP status other than 200 (404: the session is gone with its daemon).
    Http(u16),
    /// No connection, or it broke: the daemon was down.
    Connection,
    /// No answer within [`CALL_TIMEOUT`].
    TimedOut,
}

#[derive(Default)]
struct Tally {
    ended: BTreeMap<Ended, u64>,
    /// Completion times (Unix ms) of calls answered with a result, by server, for the store
    /// check.
    results_at: BTreeMap<String, Vec<u64>>,
    slowest: Duration,
}

/// One session's HTTP/1.1 keep-alive connection to the gateway, sending JSON-only requests.
struct Connection {
    port: u16,
    stream: Option<BufReader<TcpStream>>,
}

struct Answer {
    status: u16,
    session: Option<String>,
    body: Vec<u8>,
}

impl Connection {
    fn post(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<Answer> {
        // A kept-alive connection the daemon closed meanwhile fails at once: retry on a fresh one.
        let reused = self.stream.is_some();
        match self.exchange(path, headers, body) {
            Err(_) if reused => {
                self.stream = None;
                self.exchange(path, headers, body)
            }
            other => other,
        }
    }

    fn exchange(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<Answer> {
        let answer = self.try_exchange(path, headers, body);
        if answer.is_err() {
            self.stream = None;
        }
        answer
    }

    fn try_exchange(&mut self, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<Answer> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(("127.0.0.1", self.port))?;
            stream.set_read_timeout(Some(CALL_TIMEOUT))?;
            stream.set_nodelay(true)?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().unwrap();
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        reader.get_mut().write_all(request.as_bytes())?;

        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut session) = (0, None);
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "mcp-session-id" => session = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(Answer {
            status,
            session,
            body,
        })
    }
}

/// One session: initializes, then calls `echo` until `stop`, starting a new session whenever
/// the old one is gone (its daemon was restarted).
fn session(port: u16, server: String, token: String, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    let path = format!("/mcp/{server}");
    let bearer = format!("Bearer {token}");
    let mut connection = Connection { port, stream: None };
    let mut session: Option<String> = None;
    let mut id = 0u64;
    while !stop.load(Ordering::Relaxed) {
        id += 1;
        let Some(current) = session.clone() else {
            let init = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "faults", "version": "1"}}});
            match connection.post(&path, &[("Authorization", &bearer)], &init.to_string()) {
                Ok(Answer {
                    status: 200,
                    session: Some(new),
                    ..
                }) => {
                    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
                    let headers = [("Authorization", bearer.as_str()), ("Mcp-Session-Id", &new)];
                    if connection.post(&path, &headers, initialized).is_ok() {
                        session = Some(new);
                    }
                }
                // The daemon is down or starting: a real client retries with a pause.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
            continue;
        };
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": format!("call {id}")}}});
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Mcp-Session-Id", current.as_str()),
            ("MCP-Protocol-Version", "2025-06-18"),
        ];
        let started = Instant::now();
        let ended = match connection.post(&path, &headers, &call.to_string()) {
            Ok(Answer {
                status: 200, body, ..
            }) => {
                let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
                match answer["error"]["code"].as_i64() {
                    Some(code) => Ended::RpcError(code),
                    None if answer["result"]["content"][0]["text"] == format!("call {id}") => Ended::Result,
                    None => panic!("call {id} got a wrong answer: {answer}"),
                }
            }
            Ok(Answer { status, .. }) => Ended::Http(status),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Ended::TimedOut
            }
            Err(_) => Ended::Connection,
        };
        if matches!(ended, Ended::Http(404) | Ended::Connection) {
            session = None;
        }
        let took = started.elapsed();
        let mut tally = tally.lock().unwrap();
        tally.slowest = tally.slowest.max(took);
        if ended == Ended::Result {
            tally.results_at.entry(server.clone()).or_default().push(now_ms());
        }
        *tally.ended.entry(ended).or_default() += 1;
    }
}

/// The `mcp-echo` processes of this sandbox (each is given the sandbox's path as a marker).
fn echo_processes(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.contains(&marker.as_bytes()) && common::alive(pid) {
            found.push(pid);
        }
    }
    found
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A small xorshift generator: the test needs spread, not cryptographic randomness.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap()
    }
}

/// Restarts, as a user would, every server the supervisor gave up on (a crash loop); returns
/// the servers as they were.
fn restart_given_up(sb: &Sandbox) -> Vec<Value> {
    let servers = sb.servers();
    for server in &servers {
        if server["status"]["state"] == "crash_looping" {
            sb.ok(&["restart", server["name"].as_str().unwrap()]);
        }
    }
    servers
}

/// Waits until every server runs, each in one process.
fn all_running(sb: &Sandbox, marker: &str) {
    wait_until("every server to run again", Duration::from_secs(60), || {
        let servers = restart_given_up(sb);
        let running = servers
            .iter()
            .filter(|s| s["status"]["state"] == "running")
            .count();
        (running == SERVERS && echo_processes(marker).len() == SERVERS).then_some(())
    });
}

/// What the store keeps of servers and client tokens (not the live state or usage times).
fn durable(sb: &Sandbox) -> (Vec<Value>, Vec<Value>) {
    let mut servers = sb.servers();
    for server in &mut servers {
        for live in ["status", "restarts", "usage"] {
            server.as_object_mut().unwrap().remove(live);
        }
    }
    let tokens = sb
        .json(&["token", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    (servers, tokens)
}

#[test]
fn calls_are_answered_and_nothing_leaks_while_servers_and_the_daemon_are_killed() {
    let echo = echo_server();
    let mut sb = Sandbox::new();
    let port = free_port();
    sb.start_daemon_with(&["--port", &port.to_string()]);
    let marker = sb.home().display().to_string();
    for n in 0..SERVERS {
        sb.ok(&[
            "add",
            &format!("echo-{n}"),
            "--",
            &echo.display().to_string(),
            &marker,
        ]);
    }
    all_running(&sb, &marker);
    let token = sb.ok(&["token", "create", "faults"]).trim().to_owned();
    let store_before = durable(&sb);

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let sessions: Vec<_> = (0..SESSIONS)
        .map(|n| {
            let (server, token) = (format!("echo-{}", n % SERVERS), token.clone());
            let (stop, tally) = (stop.clone(), tally.clone());
            std::thread::spawn(move || session(port, server, token, stop, tally))
        })
        .collect();
    let results = || {
        tally
            .lock()
            .unwrap()
            .ended
            .get(&Ended::Result)
            .copied()
            .unwrap_or(0)
    };
    // The baseline is taken once the load alone no longer grows the daemon: its allocator and
    // SQLite's page cache reach their working size first.
    let daemon = sb.daemon_pid();
    let mut samples = vec![rss_kib(daemon)];
    let mut sampled = Instant::now();
    let rss_before = wait_until("memory under load to level off", Duration::from_secs(180), || {
        if sampled.elapsed() >= Duration::from_secs(4) {
            samples.push(rss_kib(daemon));
            sampled = Instant::now();
        }
        let last = samples.len().checked_sub(4).map(|from| &samples[from..])?;
        let peak = *last.iter().max()?;
        (peak - last[0] <= last[0] / 50).then_some(peak)
    });
    let fds_before = open_fds(daemon);

    // Upstream processes SIGKILLed at random, each as soon as one is running.
    let mut random = Random(u64::from(std::process::id()) | 1);
    let mut killed = Vec::new();
    while killed.len() < KILLS {
        let victim = wait_until("a server process to kill", Duration::from_secs(60), || {
            let live: Vec<u32> = echo_processes(&marker)
                .into_iter()
                .filter(|p| !killed.contains(p))
                .collect();
            if live.is_empty() {
                restart_given_up(&sb);
                return None;
            }
            Some(live[random.below(live.len())])
        });
        signal(victim, SIGKILL);
        killed.push(victim);
    }
    all_running(&sb, &marker);
    let during_kills = results();
    wait_until("calls to flow again", Duration::from_secs(30), || {
        (results() > during_kills + 2000).then_some(())
    });
    let (fds_after, rss_after) = (open_fds(daemon), rss_kib(daemon));

    // The daemon SIGKILLed mid-load: its servers go with it, and a new one takes over.
    let killed_at = now_ms();
    sb.kill_daemon_hard();
    wait_until(
        "the servers to end with their daemon",
        Duration::from_secs(15),
        || echo_processes(&marker).is_empty().then_some(()),
    );
    sb.start_daemon_with(&["--port", &port.to_string()]);
    let restarted = results();
    wait_until("the sessions to reconnect", Duration::from_secs(60), || {
        (results() > restarted + 2000).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    for session in sessions {
        session.join().unwrap();
    }

    let tally = tally.lock().unwrap();
    eprintln!(
        "{} kills; outcomes {:?}; slowest call {:?}; daemon fds {fds_before} -> {fds_after}, RSS {rss_before} -> {rss_after} KiB",
        killed.len(),
        tally.ended,
        tally.slowest
    );
    // Every call was answered in time, and only with what a killed server or daemon explains.
    for (ended, count) in &tally.ended {
        let explained = matches!(
            ended,
            Ended::Result | Ended::RpcError(-32001) | Ended::Http(404) | Ended::Connection
        );
        assert!(explained, "{count} calls ended {ended:?}");
    }
    assert!(tally.slowest < CALL_TIMEOUT);
    assert!(
        fds_after <= fds_before + 2,
        "file descriptors grew: {fds_before} -> {fds_after}"
    );
    assert!(
        rss_after <= rss_before + rss_before / 10,
        "memory grew by more than 10% under {KILLS} kills: {rss_before} -> {rss_after} KiB"
    );

    // Nothing committed is lost: servers, their settings and the client's token (the sessions
    // reconnected with it), and the call history up to the last batch before the kill.
    assert_eq!(durable(&sb), store_before);
    // One server's calls, so that the history's newest 10,000 reach back past the window.
    let window = (killed_at - 3000, killed_at - 1000);
    let answered = tally.results_at["echo-0"]
        .iter()
        .filter(|at| (window.0..=window.1).contains(at))
        .count();
    let history = sb.json(&["history", "--server", "echo-0", "--limit", "10000"]);
    let recorded = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["outcome"] == "ok")
        .filter_map(|call| call["at_ms"].as_u64())
        .filter(|at| (window.0 - 1000..=window.1).contains(at))
        .count();
    assert!(
        recorded >= answered,
        "{answered} calls were answered between 3 s and 1 s before the kill, but history holds {recorded}"
    );

    sb.stop_daemon();
    assert!(
        echo_processes(&marker).is_empty(),
        "server processes outlived the daemon"
    );
}
