//! `stdio-rtt`: times a stdio MCP server from a compiled client, so the figures are the
//! server's (or shim's) and not a scripting runtime's.
//!
//!     stdio-rtt calls N -- CMD ARGS...   N sequential echo calls after a warm-up: latency JSON
//!     stdio-rtt first -- CMD ARGS...     spawn until the initialize response arrives: ms JSON
//!
//! The benchmark runs it on the bare echo server (the floor the gateway is compared with) and
//! on `switchboard connect` and mcp-remote (start-up). It is not a product part.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: u64 = 200;
const USAGE: &str = "usage: stdio-rtt calls N|first -- CMD ARGS...";

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl Peer {
    fn send(&mut self, message: &str) -> Result<(), String> {
        writeln!(self.stdin, "{message}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())
    }

    /// Sends a request with `id` and waits for its response.
    fn request(&mut self, id: u64, rest: &str) -> Result<Duration, String> {
        let sent = Instant::now();
        self.send(&format!(r#"{{"jsonrpc":"2.0","id":{id},{rest}}}"#))?;
        let wanted = format!(r#""id":{id}"#);
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line).map_err(|e| e.to_string())? == 0 {
                return Err("the server closed its stdout".into());
            }
            if self.line.contains(&wanted) {
                return Ok(sent.elapsed());
            }
        }
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args.iter().position(|a| a == "--").ok_or(USAGE)?;
    let (mode, command) = (&args[..split], &args[split + 1..]);
    let program = command.first().ok_or(USAGE)?;
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(&command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let mut peer = Peer {
        stdin: child.stdin.take().ok_or("no stdin")?,
        stdout: BufReader::new(child.stdout.take().ok_or("no stdout")?),
        child,
        line: String::new(),
    };
    let init = r#""method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"stdio-rtt","version":"1"}}"#;
    peer.request(0, init)?;
    let first_response = started.elapsed();
    peer.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)?;
    let report = match mode {
        [m] if m == "first" => format!(
            r#"{{"first_response_ms":{:.2}}}"#,
            first_response.as_secs_f64() * 1e3
        ),
        [m, n] if m == "calls" => {
            let calls: u64 = n.parse().map_err(|_| format!("`{n}` is not a number of calls"))?;
            let call = r#""method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}"#;
            let mut times = Vec::new();
            for id in 1..=WARMUP + calls {
                let took = peer.request(id, call)?;
                if id > WARMUP {
                    times.push(took.as_secs_f64() * 1e6);
                }
            }
            times.sort_by(f64::total_cmp);
            let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
            format!(
                r#"{{"calls":{calls},"p50_us":{:.1},"p99_us":{:.1},"mean_us":{:.1}}}"#,
                at(0.5),
                at(0.99),
                times.iter().sum::<f64>() / times.len() as f64
            )
        }
        _ => return Err(USAGE.into()),
    };
    println!("{report}");
    let _ = peer.child.kill();
    let _ = peer.child.wait();
    Ok(())
}
