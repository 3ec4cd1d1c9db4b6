//! The launchd agent: `~/Library/LaunchAgents/dev.switchboard.daemon.plist`, loaded into the
//! user's GUI domain with `launchctl bootstrap`.
//!
//! launchd starts the daemon at login and again when it exits unsuccessfully, at most every
//! ten seconds (it cannot be told to spare one exit status, so a daemon refused because
//! another holds the data directory is retried); it keeps no log of its own, so the daemon's
//! output goes to `service.log` in the data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{ServiceError, Spec, escape};

/// The agent's label, also its file name.
pub const LABEL: &str = "dev.switchboard.daemon";

/// The property list for `spec`.
pub fn plist(spec: &Spec) -> String {
    let strings = |items: &[String], indent: &str| -> String {
        items
            .iter()
            .map(|s| format!("{indent}<string>{}</string>\n", escape(s)))
            .collect()
    };
    let env: String = spec
        .env
        .iter()
        .map(|(key, value)| {
            format!(
                "\t\t<key>{}</key>\n\t\t<string>{}</string>\n",
                escape(key),
                escape(value)
            )
        })
        .collect();
    let log = escape(&log(spec).display().to_string());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Switchboard's daemon as a launchd agent, written by `switchboard service install`;\n     \
         `switchboard service uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \t<key>Label</key>\n\
         \t<string>{LABEL}</string>\n\
         \t<key>ProgramArguments</key>\n\
         \t<array>\n\
         {args}\
         \t</array>\n\
         \t<key>EnvironmentVariables</key>\n\
         \t<dict>\n\
         {env}\
         \t</dict>\n\
         \t<key>RunAtLoad</key>\n\
         \t<true/>\n\
         \t<key>KeepAlive</key>\n\
         \t<dict>\n\
         \t\t<key>SuccessfulExit</key>\n\
         \t\t<false/>\n\
         \t</dict>\n\
         \t<key>ThrottleInterval</key>\n\
         \t<integer>10</integer>\n\
         \t<key>StandardOutPath</key>\n\
         \t<string>{log}</string>\n\
         \t<key>StandardErrorPath</key>\n\
         \t<string>{log}</string>\n\
         </dict>\n\
         </plist>\n",
        args = strings(&spec.argv(), "\t\t"),
    )
}

/// Where launchd writes the daemon's output.
pub fn log(spec: &Spec) -> PathBuf {
    spec.data_dir.join("service.log")
}

fn launchctl(args: &[&str]) -> Result<String, ServiceError> {
    super::run("launchctl", "launchd", args)
}

/// The user's GUI domain, `gui/UID`.
#[cfg(unix)]
fn domain() -> String {
    format!("gui/{}", nix::unistd::getuid())
}

#[cfg(not(unix))]
fn domain() -> String {
    "gui/0".to_owned()
}

fn target() -> String {
    format!("{}/{LABEL}", domain())
}

fn loaded() -> bool {
    launchctl(&["print", &target()]).is_ok()
}

/// Loads the agent (again, if it `changed`) and starts the daemon unless it runs.
pub(super) fn load(path: &Path, changed: bool) -> Result<(), ServiceError> {
    // A label launchd holds disabled would refuse to bootstrap.
    launchctl(&["enable", &target()])?;
    if changed && loaded() {
        launchctl(&["bootout", &target()])?;
        wait_until_unloaded()?;
    }
    if !loaded() {
        launchctl(&["bootstrap", &domain(), &path.display().to_string()])?;
    }
    start()
}

/// `bootout` returns before launchd has let go of the label; bootstrapping it again in that
/// moment fails.
fn wait_until_unloaded() -> Result<(), ServiceError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while loaded() {
        if Instant::now() > deadline {
            return Err(ServiceError::ManagerSlow {
                command: format!("launchctl bootout {}", target()),
                seconds: 10,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

pub(super) fn unload() -> Result<(), ServiceError> {
    if loaded() {
        launchctl(&["bootout", &target()])?;
        wait_until_unloaded()?;
    }
    Ok(())
}

pub(super) fn start() -> Result<(), ServiceError> {
    launchctl(&["kickstart", &target()]).map(drop)
}

/// `running`, `not running` (loaded, waiting) or `not loaded`.
pub(super) fn state() -> Result<String, ServiceError> {
    let Ok(printed) = launchctl(&["print", &target()]) else {
        return Ok("not loaded".to_owned());
    };
    let running = printed.lines().any(|l| l.trim() == "state = running");
    Ok(if running { "running" } else { "not running" }.to_owned())
}
