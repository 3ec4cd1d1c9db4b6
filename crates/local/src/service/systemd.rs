//! The systemd user unit: `~/.config/systemd/user/switchboard.service`, loaded and started
//! with `systemctl --user`.
//!
//! The unit restarts the daemon when it fails, but not when it exits because another daemon
//! holds the data directory. Stopping sends SIGTERM to the daemon alone, which stops its
//! servers; anything left in the unit's cgroup after the timeout is killed. Without lingering
//! (`loginctl enable-linger`), a user's units run only while they are logged in.

use std::path::Path;
use std::process::Command;

use super::{ALREADY_RUNNING_EXIT, ServiceError, Spec};

/// The unit's file name.
pub const UNIT: &str = "switchboard.service";

/// The unit file for `spec`.
pub fn unit(spec: &Spec) -> String {
    let exec = spec.argv().iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    let env: String = spec
        .env
        .iter()
        .map(|(key, value)| format!("Environment={}\n", quote(&format!("{key}={value}"))))
        .collect();
    format!(
        "# Switchboard's daemon as a systemd user service, written by `switchboard service install`.\n\
         # `switchboard service uninstall` removes it; the next install replaces edits made here.\n\
         [Unit]\n\
         Description=Switchboard daemon: your MCP servers and the gateway your AI clients reach\n\
         \n\
         [Service]\n\
         Type=exec\n\
         ExecStart={exec}\n\
         {env}\
         Restart=on-failure\n\
         RestartSec=2s\n\
         RestartPreventExitStatus={ALREADY_RUNNING_EXIT}\n\
         KillMode=mixed\n\
         TimeoutStopSec=30s\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n"
    )
}

/// One word of a unit's command line or assignment: bare when that is unambiguous, else in
/// double quotes with systemd's C-style escapes. `%` (a specifier) and `$` (a variable) are
/// doubled so they reach the daemon as written.
fn quote(word: &str) -> String {
    let literal = word.replace('%', "%%").replace('$', "$$");
    let plain = !literal.is_empty()
        && literal
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        return literal;
    }
    let mut quoted = String::with_capacity(literal.len() + 2);
    quoted.push('"');
    for c in literal.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            c if c.is_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c) & 0xff)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn systemctl(args: &[&str]) -> Result<String, ServiceError> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    super::run("systemctl", "systemd", &all).map_err(unreachable)
}

/// A user manager that cannot be reached is its own error: the unit is in place and runs at
/// the next login.
fn unreachable(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::Manager { command, detail }
            if detail.contains("Failed to connect to") || detail.contains("No medium found") =>
        {
            ServiceError::Unreachable {
                manager: "systemd's user manager",
                detail: format!("`{command}`: {detail}"),
                later: "the daemon starts at your next login, or run `systemctl --user enable --now switchboard` in your session",
            }
        }
        other => other,
    }
}

pub(super) fn load(restart: bool) -> Result<(), ServiceError> {
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", UNIT])?;
    systemctl(&[if restart { "restart" } else { "start" }, UNIT]).map(drop)
}

pub(super) fn unload() -> Result<(), ServiceError> {
    match systemctl(&["disable", "--now", UNIT]) {
        Err(ServiceError::Manager { detail, .. }) if detail.contains("does not exist") => Ok(()),
        other => other.map(drop),
    }?;
    systemctl(&["daemon-reload"]).map(drop)
}

pub(super) fn start() -> Result<(), ServiceError> {
    systemctl(&["start", UNIT]).map(drop)
}

/// `active`, `inactive`, `failed`, ...: systemd's word, which it prints with a failing
/// status for anything but active.
pub(super) fn state() -> Result<String, ServiceError> {
    let output = Command::new("systemctl")
        .args(["--user", "is-active", UNIT])
        .output()
        .map_err(|_| ServiceError::NoManager {
            tool: "systemctl",
            manager: "systemd",
        })?;
    let word = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if word.is_empty() {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(unreachable(ServiceError::Manager {
            command: format!("systemctl --user is-active {UNIT}"),
            detail: said,
        }));
    }
    Ok(word)
}

/// Whether `user`'s units run without a login session (`loginctl enable-linger`).
pub fn lingers(user: &str) -> bool {
    Path::new("/var/lib/systemd/linger").join(user).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_they_need_it() {
        assert_eq!(quote("/usr/bin/switchboard"), "/usr/bin/switchboard");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("50%"), "\"50%%\"");
        assert_eq!(quote("$HOME"), "\"$$HOME\"");
        assert_eq!(quote("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(quote("two\nlines"), "\"two\\nlines\"");
        assert_eq!(quote(""), "\"\"");
    }
}
