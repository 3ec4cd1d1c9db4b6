//! `switchboard service install | uninstall | status`: the daemon as a service of the OS's
//! own manager (a systemd user unit, a launchd agent, a logon task), for a machine that should
//! keep serving with nobody at it.
//!
//! The definitions and the manager's tools are `switchboard_local::service`'s. This module
//! decides the order: a daemon already running (outside the service, or under the old
//! definition) is stopped through its API, gracefully, and the data directory's lock is free
//! before the manager starts the service's, so two never fight over it; then it waits for the
//! daemon the manager started to answer. A manager that cannot be reached leaves a running
//! daemon alone: the definition is in place for the next login.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Subcommand;
use switchboard_local::paths::DataDir;
use switchboard_local::service::{Definition, Manager, ServiceError, Spec};
use switchboard_model::api::DaemonStatus;

use crate::client::{CliError, Client};
use crate::{home, print_json};

/// How long a daemon may take to stop, or to answer once its manager started it.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Run the daemon as a service of this OS (systemd user unit, launchd agent, logon task)
    /// and start it now; running it again changes nothing. Arguments after `--` go to
    /// `switchboard daemon` (e.g. `-- --secrets file`).
    Install {
        #[arg(last = true, value_name = "DAEMON_ARGS")]
        daemon_args: Vec<String>,
    },
    /// Stop the service's daemon and remove the service (your data stays).
    Uninstall,
    /// Whether the service is installed and running.
    Status,
}

/// What a service command found and did, for people and for `--json`.
#[derive(Debug, serde::Serialize)]
pub struct ServiceReport {
    pub manager: Manager,
    /// The definition file.
    pub definition: PathBuf,
    pub installed: bool,
    /// The manager's word for the service (`active`, `running`, `Ready`...), when it answers.
    pub state: Option<String>,
    /// Why the manager could not be asked, when it could not.
    pub manager_error: Option<String>,
    /// The pid of the daemon answering for this data directory, if one does.
    pub daemon_pid: Option<u32>,
    /// Whether this command wrote, loaded or removed anything.
    pub changed: bool,
    /// What the person may want to do next.
    pub hints: Vec<String>,
}

pub async fn run(json: bool, port: u16, command: ServiceCommand) -> Result<(), CliError> {
    let report = match command {
        ServiceCommand::Install { daemon_args } => install(port, daemon_args).await?,
        ServiceCommand::Uninstall => uninstall(port).await?,
        ServiceCommand::Status => status(port, definition(port, Vec::new())?).await,
    };
    if json {
        return print_json(&report);
    }
    print(&report);
    Ok(())
}

/// The definition `install` writes for this binary, these arguments and this environment.
fn definition(port: u16, mut args: Vec<String>) -> Result<Definition, CliError> {
    let program = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| CliError::Other(format!("cannot find the switchboard binary itself: {e}")))?;
    if port != switchboard_model::DEFAULT_PORT && std::env::var_os("SWITCHBOARD_PORT").is_none() {
        args.splice(0..0, ["--port".to_owned(), port.to_string()]);
    }
    let spec = Spec::new(program, args, home()?, |key| std::env::var_os(key)).map_err(failed)?;
    Definition::current(&spec).map_err(failed)
}

fn failed(error: ServiceError) -> CliError {
    CliError::Other(error.to_string())
}

async fn install(port: u16, args: Vec<String>) -> Result<ServiceReport, CliError> {
    let definition = definition(port, args)?;
    let reachable = match definition.state() {
        Err(e @ ServiceError::NoManager { .. }) => return Err(failed(e)),
        other => other.is_ok(),
    };
    let wrote = definition.write().map_err(failed)?;
    let mut report = status(port, definition.clone()).await;
    report.changed = wrote;
    let serving = report.state.as_deref().is_some_and(is_up);
    if !reachable || (!wrote && serving && report.daemon_pid.is_some()) {
        return Ok(report);
    }
    if report.daemon_pid.is_some() {
        stop_running_daemon(port).await?;
        if !serving {
            report.hints.push(
                "the daemon that was running outside the service was stopped; the service runs it now"
                    .to_owned(),
            );
        }
    }
    definition.load(wrote).map_err(failed)?;
    report.changed = true;
    report.daemon_pid = Some(answering(port, &definition).await?.pid);
    report.state = definition.state().ok();
    report.manager_error = None;
    Ok(report)
}

/// Stops the service's daemon and removes the definition. A manager that cannot be reached
/// is told nothing (said in a hint); one that refuses keeps the definition, so uninstall can
/// be run again.
async fn uninstall(port: u16) -> Result<ServiceReport, CliError> {
    let definition = definition(port, Vec::new())?;
    let mut hints = Vec::new();
    match definition.unload() {
        Ok(()) => {}
        Err(e @ (ServiceError::Unreachable { .. } | ServiceError::NoManager { .. })) => {
            hints.push(format!("the service manager was not told: {e}"));
        }
        Err(e) => return Err(failed(e)),
    }
    let removed = definition.remove().map_err(failed)?;
    let mut report = status(port, definition).await;
    report.changed = removed;
    report.hints.splice(0..0, hints);
    Ok(report)
}

async fn status(port: u16, definition: Definition) -> ServiceReport {
    let (state, manager_error) = match definition.state() {
        Ok(state) => (Some(state), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let daemon_pid = daemon(port).await.map(|s| s.pid);
    let mut report = ServiceReport {
        manager: definition.manager,
        installed: definition.installed(),
        definition: definition.path,
        state,
        manager_error,
        daemon_pid,
        changed: false,
        hints: Vec::new(),
    };
    report.hints.extend(linger_hint(&report));
    report
}

/// Whether the manager's word means the daemon runs.
fn is_up(state: &str) -> bool {
    matches!(
        state,
        "active" | "activating" | "reloading" | "running" | "Running"
    )
}

/// Without lingering, a systemd user service runs only while its user is logged in.
fn linger_hint(report: &ServiceReport) -> Option<String> {
    if report.manager != Manager::Systemd || !report.installed {
        return None;
    }
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok()?;
    (!switchboard_local::service::systemd::lingers(&user)).then(|| {
        format!(
            "the daemon runs while you are logged in; for a machine nobody logs into, run `loginctl enable-linger {user}`"
        )
    })
}

async fn daemon(port: u16) -> Option<DaemonStatus> {
    let client = Client::connect(home().ok()?, port).ok()?;
    client.get::<DaemonStatus>("/status").await.ok()
}

/// Stops the daemon that answers now, gracefully, and waits until it has let go of the data
/// directory (its lock is the last thing it releases), so the next daemon can take it.
async fn stop_running_daemon(port: u16) -> Result<(), CliError> {
    let home = home()?;
    let client = Client::connect(home.clone(), port)?;
    client.post_empty("/shutdown").await?;
    let lock = DataDir::existing(home).daemon_lock();
    let deadline = Instant::now() + PATIENCE;
    while held(&lock) {
        if Instant::now() > deadline {
            return Err(CliError::Other(format!(
                "the running daemon did not stop within {} s; stop it (`switchboard quit`) and install again",
                PATIENCE.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Whether a daemon holds the data directory's lock.
fn held(lock: &std::path::Path) -> bool {
    std::fs::File::open(lock).is_ok_and(|file| file.try_lock().is_err())
}

/// The daemon the manager started, once it answers.
async fn answering(port: u16, definition: &Definition) -> Result<DaemonStatus, CliError> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = daemon(port).await {
            return Ok(status);
        }
        if Instant::now() > deadline {
            return Err(CliError::Other(format!(
                "the service was started but its daemon did not answer within {} s; see `switchboard service status` and its output ({})",
                PATIENCE.as_secs(),
                definition.log
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn print(report: &ServiceReport) {
    let what = if report.installed {
        "installed"
    } else {
        "not installed"
    };
    let now = if report.changed { " (changed now)" } else { "" };
    println!("service: {what}{now} ({})", report.definition.display());
    match (&report.state, &report.manager_error) {
        (Some(state), _) => println!("manager: {state}"),
        (None, Some(error)) => println!("manager: {error}"),
        (None, None) => {}
    }
    match report.daemon_pid {
        Some(pid) => println!("daemon: running, pid {pid}"),
        None => println!("daemon: not running"),
    }
    for hint in &report.hints {
        println!("note: {hint}");
    }
}
