//! The launchd agent: `~/Library/LaunchAgents/dev.switchboard.daemon.plist`, loaded into the
//! user's GUI domain with `launchctl bootstrap`.
//!
//! launchd starts the daemon at login and again when it exits unsuccessfully, at most every
//! ten seconds; it keeps no log of its own, so the daemon's output goes to `service.log` in
//! the data directory.

use std::path::Path;

use super::{ServiceError, Spec};

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
    let log = escape(&spec.data_dir.join("service.log").display().to_string());
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

/// Text as XML character data.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
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

pub(super) fn load(path: &Path, changed: bool) -> Result<(), ServiceError> {
    if changed && loaded() {
        launchctl(&["bootout", &target()])?;
    }
    if !loaded() {
        launchctl(&["bootstrap", &domain(), &path.display().to_string()])?;
    }
    launchctl(&["enable", &target()]).map(drop)
}

pub(super) fn unload() -> Result<(), ServiceError> {
    if loaded() {
        launchctl(&["bootout", &target()])?;
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
