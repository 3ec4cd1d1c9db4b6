//! Human output: aligned tables and one-line summaries. `--json` bypasses all of this.

use switchboard_model::api::{CallRecord, ClientView, LogLine, LogStream, RunRecord, ServerView};
use switchboard_model::{ServerState, Transport, UnixMillis};

/// Prints rows as columns separated by two spaces, the first row being the header.
pub fn table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
}

pub fn servers(views: &[ServerView]) {
    if views.is_empty() {
        println!("No servers yet. Add one with `switchboard add NAME -- COMMAND ARGS...`.");
        return;
    }
    let mut rows = vec![
        [
            "NAME",
            "STATE",
            "TOOLS",
            "PID",
            "CPU",
            "MEMORY",
            "RESTARTS",
            "ENABLED",
            "TRANSPORT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for v in views {
        let (tools, pid) = match &v.status {
            ServerState::Running { tools, pid, .. } => (tools.to_string(), pid.map(|p| p.to_string())),
            other => ("-".into(), other.pid().map(|p| p.to_string())),
        };
        let (cpu, memory) = match v.usage {
            Some(u) => (format!("{:.1}%", u.cpu_percent), megabytes(u.memory_bytes)),
            None => ("-".into(), "-".into()),
        };
        rows.push(vec![
            v.spec.name.to_string(),
            v.status.label().to_owned(),
            tools,
            pid.unwrap_or_else(|| "-".into()),
            cpu,
            memory,
            v.restarts.to_string(),
            if v.enabled { "yes" } else { "no" }.into(),
            transport(&v.spec.transport),
        ]);
    }
    table(&rows);
}

fn transport(t: &Transport) -> String {
    match t {
        Transport::Stdio(launch) => {
            format!("stdio: {}", command_line(&launch.command, &launch.args))
        }
        Transport::LocalHttp { url, .. } => format!("local http: {url}"),
        Transport::RemoteHttp { url, .. } => format!("remote: {url}"),
    }
}

fn command_line(command: &str, args: &[String]) -> String {
    let mut line = command.to_owned();
    for arg in args {
        line.push(' ');
        line.push_str(arg);
    }
    const MAX: usize = 60;
    if line.chars().count() > MAX {
        line = line.chars().take(MAX - 1).collect::<String>() + "…";
    }
    line
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// One line saying where a server stands, with the reason if it is not running.
pub fn summary(view: &ServerView) -> String {
    let name = &view.spec.name;
    match &view.status {
        ServerState::Running { tools, pid, .. } => {
            let pid = pid.map(|p| format!(", pid {p}")).unwrap_or_default();
            format!("{name}: running, {tools} tools{pid}")
        }
        ServerState::Stopped => format!("{name}: stopped"),
        ServerState::Starting { .. } => {
            format!("{name}: still starting (see `switchboard logs {name}`)")
        }
        ServerState::BackingOff { attempt, last, .. } => {
            format!("{name}: restarting (attempt {attempt}) after: {last}")
        }
        ServerState::CrashLooping {
            restarts,
            window_secs,
            last,
        } => {
            format!("{name}: crash-looping ({restarts} restarts in {window_secs}s); last failure: {last}")
        }
        ServerState::Failed { reason } => format!("{name}: failed: {reason}"),
    }
}

pub fn log_line(line: &LogLine) {
    let stream = match line.stream {
        LogStream::Stderr => "err",
        LogStream::Stdout => "out",
        LogStream::Supervisor => "---",
    };
    println!("{} {stream} {}", clock(line.at_ms), line.line);
}

pub fn calls(calls: &[CallRecord]) {
    let mut rows = vec![
        [
            "TIME (UTC)",
            "CLIENT",
            "SERVER",
            "TOOL",
            "DURATION",
            "OUTCOME",
            "IN",
            "OUT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in calls {
        let outcome = match (&c.outcome, &c.error) {
            (_, Some(error)) => format!("error: {error}"),
            (outcome, None) => serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        };
        rows.push(vec![
            clock(c.at_ms),
            c.client.clone(),
            c.server.clone(),
            c.tool.clone(),
            format!("{} ms", c.duration_ms),
            outcome,
            format!("{} B", c.request_bytes),
            format!("{} B", c.response_bytes),
        ]);
    }
    table(&rows);
}

pub fn clients(clients: &[ClientView]) {
    let mut rows = vec![
        ["CLIENT", "CREATED (UTC)", "LAST USED (UTC)"]
            .map(String::from)
            .to_vec(),
    ];
    for c in clients {
        rows.push(vec![
            c.name.clone(),
            clock(c.created_at_ms),
            c.last_used_ms.map_or("never".into(), clock),
        ]);
    }
    table(&rows);
}

pub fn runs(records: &[RunRecord]) {
    let mut rows = vec![
        [
            "RUN",
            "PID",
            "CAUSE",
            "STARTED (UTC)",
            "READY AFTER",
            "TOOLS",
            "ENDED (UTC)",
            "EXIT",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in records {
        rows.push(vec![
            r.id.to_string(),
            r.pid.map_or("-".into(), |p| p.to_string()),
            if r.restart { "restart" } else { "start" }.into(),
            clock(r.started_at_ms),
            r.ready_at_ms
                .map_or("-".into(), |t| format!("{} ms", t - r.started_at_ms)),
            r.tools.map_or("-".into(), |t| t.to_string()),
            r.ended_at_ms.map_or("-".into(), clock),
            r.exit.as_ref().map_or("-".into(), ToString::to_string),
        ]);
    }
    table(&rows);
}

/// Time of day in UTC with milliseconds: enough to read a log or a run list.
fn clock(at_ms: UnixMillis) -> String {
    let ms = at_ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}
