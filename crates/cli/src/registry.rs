//! `switchboard search`, `info`, `install`, `update` and `doctor`: the registry and installs.
//!
//! Installs prompt for the inputs a server needs when a person is at the terminal, and take
//! `--set KEY=VALUE` (repeatable) for scripts; without a terminal a missing input is an error
//! that names it. Everything else is the daemon's: these commands only call the control API.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use clap::Args;
use switchboard_model::api::{
    DoctorReport, InputField, InstallReport, InstallServer, RegistryDetail, RegistrySearch, ServerView,
    UpdateOutcome, UpdateReport, UpdateServer,
};

use crate::client::{CliError, Client};
use crate::{DEFAULT_WAIT_SECS, encode_query, parse_name, print_json, progress, render, report};

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The registry name, optionally with an exact version: `io.github.owner/server[@1.2.3]`.
    name: String,
    /// Install from this kind of source: npm, pypi, oci, nuget, mcpb, streamable-http or sse.
    #[arg(long)]
    source: Option<String>,
    /// The local server name (default: the last part of the registry name).
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
    /// An input value; repeat for several inputs, or several values of a repeated one.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A secret input, its value read from stdin (one line per --secret, in order) or a
    /// hidden prompt, never from the command line.
    #[arg(long = "secret", value_name = "KEY")]
    secret: Vec<String>,
    /// Add it stopped.
    #[arg(long)]
    disabled: bool,
    /// Show what would be fetched, and check the inputs, without installing.
    #[arg(long)]
    dry_run: bool,
    /// Return once installed, without waiting for the server to start.
    #[arg(long)]
    no_wait: bool,
    /// Let the container have a runtime argument of the document that reaches beyond it
    /// (`--volume` of a host path, `--privileged`, `--network=host`…), named by its flag;
    /// repeat for several. Without it such a document is refused and the error names the flag.
    #[arg(long = "allow-runtime-arg", value_name = "FLAG", allow_hyphen_values = true)]
    allow_runtime_arg: Vec<String>,
    /// Run the npm package's install scripts, which are skipped by default.
    #[arg(long)]
    allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today; by default they are resolved as
    /// of the version's publish time, so an old server gets the dependencies it was built with.
    #[arg(long)]
    latest_deps: bool,
    /// When it runs: on-demand (the default: it runs once to learn its tools, then sleeps
    /// until a call needs it) or always.
    #[arg(long, default_value = "on-demand")]
    start: switchboard_model::StartMode,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The server to update; every server installed from a registry when absent.
    name: Option<String>,
    /// Update to this exact version instead of the latest.
    #[arg(long)]
    version: Option<String>,
    /// A value for an input the new version adds.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Say whether a newer version exists and how its inputs differ, without updating.
    #[arg(long)]
    dry_run: bool,
    /// Let the container have a runtime argument the new version asks for that reaches
    /// beyond it, named by its flag; those allowed at install stay allowed.
    #[arg(long = "allow-runtime-arg", value_name = "FLAG", allow_hyphen_values = true)]
    allow_runtime_arg: Vec<String>,
    /// Run the npm package's install scripts from now on.
    #[arg(long)]
    allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today, not as of the new version's
    /// publish time, from now on (a server installed with --latest-deps keeps it).
    #[arg(long)]
    latest_deps: bool,
}

fn split_version(raw: &str) -> (String, Option<String>) {
    // Registry names cannot contain `@`, so the last one starts a version.
    match raw.rsplit_once('@') {
        Some((name, version)) if !version.is_empty() => (name.to_owned(), Some(version.to_owned())),
        _ => (raw.to_owned(), None),
    }
}

fn parse_sets(sets: &[String]) -> Result<BTreeMap<String, Vec<String>>, CliError> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for set in sets {
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--set {set}: give KEY=VALUE")))?;
        values.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    Ok(values)
}

fn detail_path(name: &str, version: Option<&str>) -> String {
    let mut path = format!("/registry/servers/{}", encode_query(name));
    if let Some(version) = version {
        path.push_str(&format!("?version={}", encode_query(version)));
    }
    path
}

pub async fn search(json: bool, client: Client, term: &str, refresh: bool) -> Result<(), CliError> {
    let path = format!(
        "/registry/servers?search={}&refresh={refresh}",
        encode_query(term)
    );
    let found: RegistrySearch = client.get(&path).await?;
    if json {
        return print_json(&found);
    }
    if let Some(reason) = &found.offline {
        eprintln!("note: showing the cached copy of {}: {reason}", found.registry);
    }
    if found.servers.is_empty() {
        println!("No servers in {} match `{term}`.", found.registry);
        return Ok(());
    }
    let mut rows = vec![
        ["NAME", "VERSION", "SOURCES", "STATUS", "DESCRIPTION"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for server in &found.servers {
        let mut status = server.status.clone();
        if !server.installed_as.is_empty() {
            status.push_str(&format!(", installed as {}", server.installed_as.join(", ")));
        }
        if server.problem.is_some() {
            status.push_str(", invalid");
        }
        rows.push(vec![
            server.name.clone(),
            server.version.clone(),
            server.sources.join(","),
            status,
            truncate(&server.description, 60),
        ]);
    }
    render::table(&rows);
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

pub async fn info(json: bool, client: Client, raw: &str) -> Result<(), CliError> {
    let (name, version) = split_version(raw);
    let detail: RegistryDetail = client.get(&detail_path(&name, version.as_deref())).await?;
    if json {
        return print_json(&detail);
    }
    let server = &detail.server;
    if let Some(reason) = &detail.offline {
        eprintln!("note: from the cached registry copy: {reason}");
    }
    println!("{} {}", server.name, server.version);
    if let Some(title) = &server.title {
        println!("{title}");
    }
    println!("{}", server.description);
    println!(
        "status: {}{}",
        server.status,
        if server.is_latest { " (latest)" } else { "" }
    );
    if !server.installed_as.is_empty() {
        println!("installed as: {}", server.installed_as.join(", "));
    }
    if let Some(problem) = &server.problem {
        println!("cannot be installed: {problem}");
    }
    for warning in &server.warnings {
        println!("warning: {warning}");
    }
    let versions: Vec<&str> = detail.versions.iter().map(|v| v.version.as_str()).collect();
    if !versions.is_empty() {
        println!("versions: {}", versions.join(", "));
    }
    for source in &detail.sources {
        let mark = if source.selected {
            " (install picks this)"
        } else {
            ""
        };
        println!("\n{} {}{mark}", source.kind, source.target);
        if let Some(why) = &source.unavailable {
            println!("  unavailable here: {why}");
        }
        let dated = switchboard_registry::DependencyDate::from_published(server.published_at.as_deref());
        if let Some(date) = dated.filter(|_| matches!(source.kind.as_str(), "npm" | "pypi")) {
            println!("  {} (--latest-deps for today's)", date.summary());
        }
        for field in &source.fields {
            println!("  {}", describe_field(field));
        }
    }
    Ok(())
}

fn describe_field(field: &InputField) -> String {
    let mut traits = Vec::new();
    traits.push(if field.required { "required" } else { "optional" });
    if field.secret {
        traits.push("secret");
    }
    if field.repeated {
        traits.push("repeatable");
    }
    let mut line = format!("--set {}=…  ({})", field.key, traits.join(", "));
    if let Some(default) = &field.default {
        line.push_str(&format!(" default {default}"));
    }
    if !field.choices.is_empty() {
        line.push_str(&format!(" one of {}", field.choices.join("|")));
    }
    if let Some(description) = &field.description {
        line.push_str(&format!(": {description}"));
    }
    line
}

pub async fn install(json: bool, client: Client, args: InstallArgs) -> Result<(), CliError> {
    let (name, version) = split_version(&args.name);
    let mut values = parse_sets(&args.set)?;
    for (key, value) in args
        .secret
        .iter()
        .zip(crate::secrets::read_secret_lines(&args.secret)?)
    {
        values.insert(key.clone(), vec![value]);
    }
    let as_name = args.as_name.as_deref().map(parse_name).transpose()?;
    if std::io::stdin().is_terminal() && !json {
        let detail: RegistryDetail = client.get(&detail_path(&name, version.as_deref())).await?;
        let source = detail.sources.iter().find(|s| match &args.source {
            Some(kind) => &s.kind == kind,
            None => s.selected,
        });
        if let Some(source) = source {
            prompt_missing(&source.fields, &mut values)?;
        }
    }
    let request = InstallServer {
        name: name.clone(),
        version,
        source: args.source,
        as_name,
        values,
        disabled: args.disabled,
        dry_run: args.dry_run,
        allow_runtime_args: args.allow_runtime_arg,
        allow_scripts: args.allow_scripts,
        latest_deps: args.latest_deps,
        start: Some(args.start),
    };
    let waits = !args.disabled && !args.no_wait && !args.dry_run;
    progress(!json, &format!("Installing {name} (fetching its package)…"));
    let path = if waits {
        format!("/install?wait={DEFAULT_WAIT_SECS}")
    } else {
        "/install".to_owned()
    };
    let installed: InstallReport = client.post(&path, Some(&request)).await?;
    if json {
        print_json(&installed)?;
    } else {
        for warning in &installed.warnings {
            eprintln!("warning: {warning}");
        }
        if installed.dry_run {
            println!(
                "{}@{} from {}: {}; the inputs check out. Nothing was installed.",
                installed.name, installed.version, installed.source, installed.fetched
            );
        } else {
            println!(
                "Installed {}@{} from {}: fetched {}.",
                installed.name, installed.version, installed.source, installed.fetched
            );
        }
    }
    match &installed.server {
        Some(view) if !json => report(false, view),
        Some(view) => failed_state(view),
        None => Ok(()),
    }
}

fn failed_state(view: &ServerView) -> Result<(), CliError> {
    use switchboard_model::ServerState;
    match view.status {
        ServerState::Failed { .. } | ServerState::CrashLooping { .. } => {
            Err(CliError::ServerFailed(String::new()))
        }
        _ => Ok(()),
    }
}

/// Asks for each required input that has no value and no default; secrets are not echoed.
fn prompt_missing(fields: &[InputField], values: &mut BTreeMap<String, Vec<String>>) -> Result<(), CliError> {
    for field in fields {
        if !field.required || field.default.is_some() || values.contains_key(&field.key) {
            continue;
        }
        let mut prompt = field.key.clone();
        if let Some(description) = &field.description {
            prompt.push_str(&format!(" ({description})"));
        }
        if !field.choices.is_empty() {
            prompt.push_str(&format!(" [{}]", field.choices.join("/")));
        }
        let value = crate::secrets::prompt(&prompt, field.secret)?;
        if !value.is_empty() {
            values.insert(field.key.clone(), vec![value]);
        }
    }
    Ok(())
}

pub async fn update(json: bool, client: Client, args: UpdateArgs) -> Result<(), CliError> {
    let names: Vec<String> = match &args.name {
        Some(name) => vec![parse_name(name)?.to_string()],
        None => {
            let servers: Vec<ServerView> = client.get("/servers").await?;
            servers
                .iter()
                .filter(|s| s.spec.origin.is_some())
                .map(|s| s.spec.name.to_string())
                .collect()
        }
    };
    let request = UpdateServer {
        version: args.version.clone(),
        values: parse_sets(&args.set)?,
        dry_run: args.dry_run,
        allow_runtime_args: args.allow_runtime_arg.clone(),
        allow_scripts: args.allow_scripts,
        latest_deps: args.latest_deps,
    };
    let mut reports = Vec::new();
    let mut failure = None;
    for name in &names {
        progress(!json && !args.dry_run, &format!("Updating {name}…"));
        match client
            .post::<UpdateReport>(&format!("/servers/{name}/update"), Some(&request))
            .await
        {
            Ok(done) => {
                if !json {
                    print_update(&done);
                }
                reports.push(done);
            }
            // One server's failure does not stop the others; the first is the exit status.
            Err(error) if args.name.is_none() => {
                eprintln!("{name}: {error}");
                failure.get_or_insert(error);
            }
            Err(error) => return Err(error),
        }
    }
    if json {
        print_json(&reports)?;
    } else if names.is_empty() {
        println!("No server was installed from a registry.");
    }
    failure.map_or(Ok(()), Err)
}

fn print_update(done: &UpdateReport) {
    let inputs = &done.inputs;
    match done.outcome {
        UpdateOutcome::UpToDate => println!("{}: {} is the latest version", done.server, done.from),
        UpdateOutcome::Available => println!("{}: {} → {} available", done.server, done.from, done.to),
        UpdateOutcome::Updated => println!(
            "{}: updated {} → {}{}",
            done.server,
            done.from,
            done.to,
            done.tools
                .map(|t| format!(" (health check listed {t} tools)"))
                .unwrap_or_default()
        ),
    }
    for (label, keys) in [
        ("newly required inputs", &inputs.newly_required),
        ("new optional inputs", &inputs.added),
        ("inputs no longer used", &inputs.removed),
    ] {
        if !keys.is_empty() {
            println!("  {label}: {}", keys.join(", "));
        }
    }
    for warning in &done.warnings {
        eprintln!("warning: {warning}");
    }
}

pub async fn doctor(json: bool, client: Client, refresh: bool) -> Result<(), CliError> {
    let report: DoctorReport = client.get(&format!("/doctor?refresh={refresh}")).await?;
    if json {
        return print_json(&report);
    }
    let mut rows = vec![
        ["RUNTIME", "PATH", "VERSION", "FOUND VIA", "NEEDED BY"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for check in &report.runtimes {
        rows.push(vec![
            check.runtime.clone(),
            check.path.clone().unwrap_or_else(|| "missing".to_owned()),
            check.version.clone().unwrap_or_default(),
            check.found_via.clone().unwrap_or_default(),
            check.needed_by.join(", "),
        ]);
    }
    render::table(&rows);
    for check in report.runtimes.iter().filter(|c| c.path.is_none()) {
        if let Some(fix) = &check.fix {
            println!("{} is missing: {fix}", check.runtime);
        }
    }
    let shell = &report.login_shell;
    match (&shell.shell, &shell.error) {
        (Some(name), None) if shell.added_dirs.is_empty() => {
            println!("login shell {name}: read; it adds nothing to the daemon's PATH")
        }
        (Some(name), None) => println!(
            "login shell {name}: read; it adds {}",
            shell.added_dirs.join(", ")
        ),
        (name, Some(error)) => println!(
            "login shell {}: not read ({error})",
            name.as_deref().unwrap_or("(none)")
        ),
        (None, None) => {}
    }
    match &report.secrets.error {
        None => println!("secrets: {}", report.secrets.store),
        Some(error) => println!("secrets: {} cannot be used: {error}", report.secrets.store),
    }
    let store = &report.store;
    match (&store.last_backup, store.last_backup_ms) {
        (Some(backup), Some(at)) => println!(
            "database {}: last backed up {} ago, to {backup}",
            store.path,
            crate::render::ago(at)
        ),
        _ => println!(
            "database {}: no backup yet (one is taken at every start)",
            store.path
        ),
    }
    let registry = &report.registry;
    println!(
        "registry {}: {} versions cached{}",
        registry.url,
        registry.cached_versions,
        registry
            .last_error
            .as_ref()
            .map(|e| format!("; last refresh failed: {e}"))
            .unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_values_parse() {
        assert_eq!(
            split_version("io.github.a/b@1.2.3"),
            ("io.github.a/b".into(), Some("1.2.3".into()))
        );
        assert_eq!(split_version("io.github.a/b"), ("io.github.a/b".into(), None));
        let values = parse_sets(&["A=1".into(), "D=/x".into(), "D=/y=z".into()]).expect("parse");
        assert_eq!(values["D"], ["/x", "/y=z"]);
        assert!(parse_sets(&["nokey".into()]).is_err());
    }
}
