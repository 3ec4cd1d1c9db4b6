//! `GET /api/v1/metrics`: the daemon in Prometheus's text format (version 0.0.4), so a home
//! server running Switchboard can be watched. Per server: its state, starts, restarts and
//! wakes, tool calls by outcome with a duration histogram, and the memory of its process
//! tree; for the daemon, its sessions and its own memory.
//!
//! The figures are the supervisor's, the gateway's and the OS's; this file only writes them
//! out. Scrapers authenticate like any API client, with the control token.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use switchboard_gateway::metrics::{BUCKETS, ServerCounts};
use switchboard_model::api::ServerView;

use super::{AppState, Failure};

/// Every state a server can be in, as labelled.
const STATES: [&str; 7] = [
    "stopped",
    "starting",
    "running",
    "sleeping",
    "backing_off",
    "crash_looping",
    "failed",
];

pub(super) async fn metrics(State(s): State<AppState>) -> Result<impl IntoResponse, Failure> {
    let views = s.control.list().await?;
    let counts = s.gateway.metrics().snapshot();
    let supervisor = s.gateway.supervisor();
    let servers: Vec<Server<'_>> = views
        .iter()
        .map(|view| Server {
            view,
            snapshot: supervisor
                .snapshot(&view.spec.name)
                .map_or((0, 0), |s| (s.starts, s.wakes)),
            counts: counts.get(&view.spec.name).cloned().unwrap_or_default(),
        })
        .collect();
    let daemon_memory = tokio::task::spawn_blocking(own_memory).await.unwrap_or(0);
    let text = render(&servers, s.gateway.session_count(), daemon_memory);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    ))
}

/// What is written of one server.
struct Server<'a> {
    view: &'a ServerView,
    /// Runs started, and of those wakes, since the daemon started.
    snapshot: (u32, u32),
    counts: ServerCounts,
}

fn render(servers: &[Server<'_>], sessions: usize, daemon_memory: u64) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "switchboard_server_state",
        "gauge",
        "1 for the state each server is in, 0 for the others.",
    );
    for server in servers {
        let now = server.view.status.label();
        for state in STATES {
            let labels = format!("server=\"{}\",state=\"{state}\"", name(server));
            sample(
                &mut out,
                "switchboard_server_state",
                &labels,
                u64::from(state == now),
            );
        }
    }
    let per_server: [(&str, &str, &str, fn(&Server<'_>) -> u64); 3] = [
        (
            "switchboard_server_starts_total",
            "counter",
            "Runs started since the daemon started.",
            |s| u64::from(s.snapshot.0),
        ),
        (
            "switchboard_server_restarts_total",
            "counter",
            "Restarts after a failure since the daemon started.",
            |s| u64::from(s.view.restarts),
        ),
        (
            "switchboard_server_wakes_total",
            "counter",
            "Starts of a sleeping on-demand server by a request.",
            |s| u64::from(s.snapshot.1),
        ),
    ];
    for (metric, kind, help, value) in per_server {
        family(&mut out, metric, kind, help);
        for server in servers {
            sample(
                &mut out,
                metric,
                &format!("server=\"{}\"", name(server)),
                value(server),
            );
        }
    }
    calls(&mut out, servers);
    family(
        &mut out,
        "switchboard_server_resident_memory_bytes",
        "gauge",
        "Resident memory of the server's process tree.",
    );
    for server in servers {
        let bytes = server.view.usage.map_or(0, |u| u.memory_bytes);
        sample(
            &mut out,
            "switchboard_server_resident_memory_bytes",
            &format!("server=\"{}\"", name(server)),
            bytes,
        );
    }
    family(
        &mut out,
        "switchboard_sessions",
        "gauge",
        "MCP sessions open at the gateway.",
    );
    sample(&mut out, "switchboard_sessions", "", sessions as u64);
    family(
        &mut out,
        "switchboard_daemon_resident_memory_bytes",
        "gauge",
        "Resident memory of the daemon itself.",
    );
    sample(
        &mut out,
        "switchboard_daemon_resident_memory_bytes",
        "",
        daemon_memory,
    );
    out
}

/// Tool calls by outcome, and their durations as a histogram.
fn calls(out: &mut String, servers: &[Server<'_>]) {
    family(
        out,
        "switchboard_tool_calls_total",
        "counter",
        "Tool calls through the gateway, by how they ended.",
    );
    for server in servers {
        for (outcome, count) in &server.counts.calls {
            let labels = format!("server=\"{}\",outcome=\"{outcome}\"", name(server));
            sample(out, "switchboard_tool_calls_total", &labels, *count);
        }
    }
    let metric = "switchboard_tool_call_duration_seconds";
    family(
        out,
        metric,
        "histogram",
        "How long tool calls took, from request to answer.",
    );
    for server in servers {
        let counts = &server.counts;
        let mut cumulative = 0;
        for (i, bucket) in counts.buckets.iter().enumerate() {
            cumulative += bucket;
            let le = BUCKETS.get(i).map_or("+Inf".to_owned(), f64::to_string);
            let labels = format!("server=\"{}\",le=\"{le}\"", name(server));
            sample(out, &format!("{metric}_bucket"), &labels, cumulative);
        }
        let labels = format!("server=\"{}\"", name(server));
        let _ = writeln!(out, "{metric}_sum{{{labels}}} {}", counts.seconds);
        sample(out, &format!("{metric}_count"), &labels, cumulative);
    }
}

fn family(out: &mut String, metric: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
}

fn sample(out: &mut String, metric: &str, labels: &str, value: u64) {
    match labels.is_empty() {
        true => {
            let _ = writeln!(out, "{metric} {value}");
        }
        false => {
            let _ = writeln!(out, "{metric}{{{labels}}} {value}");
        }
    }
}

/// A server's name as a label value (escaped as the format asks, though names need none).
fn name(server: &Server<'_>) -> String {
    server
        .view
        .spec
        .name
        .as_str()
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The daemon's own resident memory, in bytes (0 if it cannot be read).
fn own_memory() -> u64 {
    let Ok(pid) = sysinfo::get_current_pid() else {
        return 0;
    };
    let Ok(mut system) = sysinfo::System::new() else {
        return 0;
    };
    system.refresh_processes_specifics(
        sysinfo::ProcessesToUpdate::Some(&[pid]),
        false,
        sysinfo::ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map_or(0, |p| p.memory())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use switchboard_model::ServerState;

    use super::*;

    #[test]
    fn the_text_has_one_hot_states_and_a_cumulative_histogram() {
        let spec: switchboard_model::ServerSpec = serde_json::from_value(serde_json::json!({
            "name": "time",
            "transport": {"type": "stdio", "command": "t"},
        }))
        .unwrap();
        let view = ServerView {
            spec,
            enabled: true,
            status: ServerState::Sleeping {
                since_ms: 0,
                tools: 2,
            },
            restarts: 1,
            usage: None,
        };
        let mut counts = ServerCounts::default();
        counts.calls.insert("ok", 2);
        counts.buckets[0] = 1;
        counts.buckets[3] = 1;
        let servers = [Server {
            view: &view,
            snapshot: (3, 1),
            counts,
        }];
        let text = render(&servers, 4, 1_000);
        for line in [
            "switchboard_server_state{server=\"time\",state=\"sleeping\"} 1",
            "switchboard_server_state{server=\"time\",state=\"running\"} 0",
            "switchboard_server_starts_total{server=\"time\"} 3",
            "switchboard_tool_calls_total{server=\"time\",outcome=\"ok\"} 2",
            "switchboard_tool_call_duration_seconds_bucket{server=\"time\",le=\"0.01\"} 1",
            "switchboard_tool_call_duration_seconds_bucket{server=\"time\",le=\"+Inf\"} 2",
            "switchboard_tool_call_duration_seconds_count{server=\"time\"} 2",
            "switchboard_sessions 4",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
        }
    }
}
