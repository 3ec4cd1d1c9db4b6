//! Human output: aligned tables and one-line summaries. `--json` bypasses all of this.

use switchboard_model::api::{
    AppClient, CallRecord, ClientChange, Exposure, ImportReport, LogLine, LogStream, ProfileView, RunRecord,
    Selection, ServerView, SetUpReport, TailnetPeer, TailnetState, TailnetStatus, TokenView, ToolCost,
    ToolView,
};
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
            ServerState::Sleeping { tools, .. } => (tools.to_string(), None),
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
        ServerState::Sleeping { tools, .. } => {
            format!("{name}: sleeping until used, {tools} tools")
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

pub fn tokens(clients: &[TokenView]) {
    let mut rows = vec![
        [
            "CLIENT",
            "PROFILE",
            "TOOLS",
            "TOKENS / BUDGET",
            "CREATED (UTC)",
            "LAST USED (UTC)",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in clients {
        rows.push(vec![
            c.name.clone(),
            c.profile.clone().unwrap_or_else(|| "-".into()),
            c.cost.map_or("-".into(), |cost| cost.tools.to_string()),
            c.cost.map_or("-".into(), |cost| {
                let over = if cost.over() { " (over)" } else { "" };
                format!("{} / {}{over}", cost.tokens, cost.budget)
            }),
            clock(c.created_at_ms),
            c.last_used_ms.map_or("never".into(), clock),
        ]);
    }
    table(&rows);
    for c in clients {
        if let Some(cost) = c.cost.filter(ToolCost::over) {
            println!("{}", over_budget(&c.name, &cost));
        }
    }
}

pub fn profiles(profiles: &[ProfileView]) {
    if profiles.is_empty() {
        println!(
            "No profiles: every client is offered every enabled server. `switchboard profile add NAME SERVER` makes one."
        );
        return;
    }
    let mut rows = vec![["PROFILE", "SERVERS", "CLIENTS"].map(String::from).to_vec()];
    for profile in profiles {
        let servers: Vec<&str> = profile.profile.servers.keys().map(|s| s.as_str()).collect();
        rows.push(vec![
            profile.name.clone(),
            or_dash(servers.join(", ")),
            or_dash(profile.clients.join(", ")),
        ]);
    }
    table(&rows);
}

pub fn profile(profile: &ProfileView) {
    println!(
        "Profile {}, used by {}",
        profile.name,
        match profile.clients.is_empty() {
            true => "no client".to_owned(),
            false => profile.clients.join(", "),
        }
    );
    let mut rows = vec![
        ["SERVER", "TOOLS", "PROMPTS", "RESOURCES"]
            .map(String::from)
            .to_vec(),
    ];
    if !profile.profile.roots.is_empty() {
        println!(
            "Chosen by sessions working in {}",
            profile.profile.roots.join(", ")
        );
    }
    if profile.profile.search {
        println!(
            "Search mode: clients list search_tools, describe_tool and call_tool, and find these tools by a query"
        );
    }
    for (server, offer) in &profile.profile.servers {
        rows.push(vec![
            server.to_string(),
            selection(&offer.tools),
            selection(&offer.prompts),
            selection(&offer.resources),
        ]);
    }
    table(&rows);
    for (server, offer) in &profile.profile.servers {
        for (tool, presented) in &offer.overrides {
            let mut changes = Vec::new();
            changes.extend(presented.name.as_ref().map(|n| format!("named {n}")));
            changes.extend(presented.title.as_ref().map(|t| format!("titled {t:?}")));
            changes.extend(
                presented
                    .description
                    .as_ref()
                    .map(|_| "its own description".to_owned()),
            );
            if !presented.annotations.is_empty() {
                changes.push("more cautious hints".into());
            }
            println!("{server} {tool}: {}", changes.join(", "));
        }
    }
}

fn selection(selection: &Selection) -> String {
    match selection {
        Selection::All => "all".into(),
        Selection::Only(names) => format!("only {}", names.join(", ")),
        Selection::Except(names) => format!("all but {}", names.join(", ")),
    }
}

fn or_dash(text: String) -> String {
    if text.is_empty() { "-".into() } else { text }
}

pub fn tools(tools: &[ToolView]) {
    let mut rows = vec![["TOOL", "TOKENS", "DESCRIPTION"].map(String::from).to_vec()];
    for tool in tools {
        let description = tool.description.as_deref().unwrap_or_default();
        let first_line = description.lines().next().unwrap_or_default();
        let shown: String = first_line.chars().take(72).collect();
        let cut = if shown.len() < first_line.len() { "…" } else { "" };
        let held = if tool.held { " (held)" } else { "" };
        rows.push(vec![
            format!("{}{held}", tool.name),
            tool.tokens.to_string(),
            format!("{shown}{cut}"),
        ]);
    }
    table(&rows);
    let total: u64 = tools.iter().map(|t| u64::from(t.tokens)).sum();
    println!(
        "{} tools, {total} tokens in all (counted with o200k_base; other model families count differently)",
        tools.len()
    );
    if tools.iter().any(|t| t.held) {
        println!(
            "Held tools are new or changed since approved; `switchboard quarantine` shows what changed."
        );
    }
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

/// How long ago `at_ms` was, in the largest whole unit: `40 s`, `12 min`, `5 h`, `3 days`.
pub fn ago(at_ms: UnixMillis) -> String {
    let secs = (switchboard_model::now_millis() - at_ms).max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
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

pub fn app_clients(clients: &[AppClient]) {
    let mut rows = vec![
        [
            "CLIENT",
            "INSTALLED",
            "RUNNING",
            "CONNECTED",
            "TOOL TOKENS",
            "FILES",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in clients {
        let connected = match &c.wiring {
            None => "-".to_owned(),
            Some(w) => {
                let servers = w
                    .servers
                    .as_ref()
                    .map_or("all servers".to_owned(), |s| s.join(","));
                if w.reapply {
                    format!("{servers} (kept)")
                } else {
                    servers
                }
            }
        };
        let files = c
            .files
            .iter()
            .map(|f| {
                let state = if let Some(error) = &f.error {
                    format!("unreadable: {error}")
                } else if !f.drifted.is_empty() {
                    format!("drifted: {}", f.drifted.join(","))
                } else if !f.exists {
                    "no file yet".to_owned()
                } else if f.foreign.is_empty() {
                    "ok".to_owned()
                } else {
                    format!("ok, {} of yours", f.foreign.len())
                };
                format!("{} ({state})", f.path)
            })
            .collect::<Vec<_>>()
            .join("; ");
        let installed = if c.installed.is_some() { "yes" } else { "-" };
        let name = match &c.deprecated {
            Some(_) => format!("{} (retired)", c.id),
            None => c.id.clone(),
        };
        rows.push(vec![
            name,
            installed.to_owned(),
            if c.running { "yes" } else { "-" }.to_owned(),
            connected,
            c.cost
                .map_or("-".into(), |cost| format!("{} / {}", cost.tokens, cost.budget)),
            files,
        ]);
    }
    table(&rows);
    for c in clients {
        if let Some(cost) = c.cost.filter(ToolCost::over) {
            println!("{}", over_budget(&c.id, &cost));
        }
    }
}

/// The warning for a client whose tools cost more than its budget, with the fixes.
pub fn over_budget(client: &str, cost: &ToolCost) -> String {
    format!(
        "warning: {client} is offered {} tools costing {} tokens, over its budget of {}: narrow \
         what it gets (`switchboard profile add NAME SERVER --tools …`, then `switchboard \
         profile use NAME --client {client}`), let it search for tools instead (`switchboard \
         profile search NAME on`) or raise its budget (`switchboard token budget {client} TOKENS`)",
        cost.tools, cost.tokens, cost.budget
    )
}

pub fn client_change(change: &ClientChange) {
    for file in &change.files {
        if let Some(diff) = file.diff.as_deref().filter(|d| !d.is_empty()) {
            print!("{diff}");
        }
        let verb = match (change.dry_run, file.changed) {
            (_, false) => "unchanged",
            (true, true) => "would change",
            (false, true) => "changed",
        };
        println!("{}: {verb}", file.path);
        for entry in &file.entries {
            let note = match entry.change.as_str() {
                "kept-foreign" => "kept: an entry of yours has this name".to_owned(),
                "kept-edited" => "kept: you edited it (--force overwrites)".to_owned(),
                other => other.to_owned(),
            };
            println!("  {}: {note}", entry.entry);
        }
    }
    if let Some(next) = &change.next_step {
        println!("Next: {next}");
    }
}

pub fn set_up(report: SetUpReport) {
    import(&ImportReport {
        dry_run: report.dry_run,
        adopted: report.adopted,
        skipped: report.skipped,
        replaced: report.clients,
    });
    for failed in &report.failed {
        println!("{}: left as it was: {}", failed.client, failed.reason);
    }
}

pub fn import(report: &ImportReport) {
    let verb = if report.dry_run { "would adopt" } else { "adopted" };
    for adopted in &report.adopted {
        let how = if adopted.existing {
            "already in Switchboard"
        } else {
            verb
        };
        println!("{}: {how} (from {})", adopted.server, adopted.found_in.join(", "));
        if !adopted.secrets.is_empty() {
            println!("  moved into the keychain: {}", adopted.secrets.join(", "));
        }
    }
    for skipped in &report.skipped {
        let entry = if skipped.entry.is_empty() {
            String::new()
        } else {
            format!(" {}", skipped.entry)
        };
        println!("{}{entry}: skipped: {}", skipped.client, skipped.reason);
    }
    if report.adopted.is_empty() && report.skipped.is_empty() {
        println!("no servers found in any client's config");
    }
    for change in &report.replaced {
        client_change(change);
    }
}

pub fn tailnet(status: &TailnetStatus) {
    match status.state {
        TailnetState::Running => {
            let name = status
                .dns_name
                .as_deref()
                .or(status.host_name.as_deref())
                .unwrap_or("this node");
            println!("Tailscale: running as {name}, {}", status.addresses.join(", "));
            if let Some(tailnet) = &status.tailnet {
                println!("tailnet: {tailnet}");
            }
        }
        state => {
            let word = match state {
                TailnetState::NeedsLogin => "logged out",
                TailnetState::Stopped => "not connected",
                TailnetState::NotInstalled => "not installed",
                _ => "not running",
            };
            println!("Tailscale: {word}");
        }
    }
    if let Some(message) = &status.message {
        println!("{message}");
    }
    if status.exposed.is_empty() {
        println!("exposed: nothing (`switchboard tailnet expose NAME` shares a server with your devices)");
        return;
    }
    if status.listening.is_empty() {
        println!("exposed, but not listening until Tailscale runs:");
    } else {
        println!("exposed at {}:", status.listening.join(", "));
    }
    if let Some(url) = &status.https {
        println!("and over HTTPS at {url}");
    }
    for exposure in &status.exposed {
        println!("  {:<24} {}", exposure.server, audience(exposure));
    }
}

/// Who may reach an exposed server, in words.
pub fn audience(exposure: &Exposure) -> String {
    if exposure.to.is_empty() {
        "your devices".to_owned()
    } else {
        format!("your devices and {}", exposure.to.join(", "))
    }
}

pub fn peers(peers: &[TailnetPeer]) {
    if peers.is_empty() {
        println!("No tailnet peer running Switchboard answered.");
        return;
    }
    for peer in peers {
        let name = peer.dns_name.as_deref().unwrap_or(&peer.host_name);
        println!(
            "{} ({name}, {}, {}, Switchboard {})",
            peer.host_name, peer.address, peer.os, peer.switchboard
        );
        if peer.servers.is_empty() {
            println!("  offers you nothing");
        }
        for server in &peer.servers {
            println!("  {}/{}", peer.host_name, server.name);
        }
    }
}
