//! The systemd user unit: `~/.config/systemd/user/switchboard.service`, loaded and started
//! with `systemctl --user`.
//!
//! The unit restarts the daemon when it fails, but not when it exits because another daemon
//! holds the data directory. Stopping sends SIGTERM to the daemon alone, which stops its
//! servers; anything left in the unit's cgroup after the timeout is killed. Without lingering
//! (`loginctl enable-linger`), a user's units run only while they are logged in.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ALREADY_RUNNING_EXIT, ServiceError, Spec};

/// The unit's file name.
pub const UNIT: &str = "switchboard.service";

/// The unit file for `spec`.
pub fn unit(spec: &Spec) -> String {
    let program = quote(&spec.program.display().to_string());
    let exec = std::iter::once(program)
        .chain(spec.argv().iter().skip(1).map(|a| argument(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let env: String = spec
        .env
        .iter()
        // `$` is plain in an assignment; `%` is a specifier there too.
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
         WantedBy={WANTED_BY}\n"
    )
}

/// The target whose start starts the daemon: the user's session.
const WANTED_BY: &str = "default.target";

/// An argument of ExecStart: `$` (a variable there) doubled as well as `%`. The program's
/// own path is not searched for variables, so it is only quoted.
fn argument(word: &str) -> String {
    quote(&word.replace('$', "$$"))
}

/// A word as systemd reads it back: bare when that is unambiguous, else in double quotes with
/// C-style escapes. `%` (a specifier) is doubled.
fn quote(word: &str) -> String {
    let literal = word.replace('%', "%%");
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
            c if c.is_ascii_control() => quoted.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `default.target.wants/switchboard.service` beside `unit`: what `systemctl enable` makes,
/// made here so the unit is enabled even when the user manager cannot be reached. Says
/// whether it was missing.
pub(super) fn link(unit: &Path) -> Result<bool, ServiceError> {
    let wants = wants_link(unit);
    if std::fs::read_link(&wants).is_ok_and(|target| target == unit) {
        return Ok(false);
    }
    let failed = |source| ServiceError::Write {
        path: wants.clone(),
        source,
    };
    if let Some(dir) = wants.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    match std::fs::remove_file(&wants) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    symlink(unit, &wants).map_err(failed)?;
    Ok(true)
}

/// Removes the wants link, if there is one.
pub(super) fn unlink(unit: &Path) -> Result<(), ServiceError> {
    let wants = wants_link(unit);
    match std::fs::remove_file(&wants) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ServiceError::Remove {
            path: wants,
            source: e,
        }),
        _ => Ok(()),
    }
}

fn wants_link(unit: &Path) -> PathBuf {
    let dir = unit.parent().unwrap_or(Path::new("."));
    dir.join(format!("{WANTED_BY}.wants")).join(UNIT)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "systemd units exist only on Linux",
    ))
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
                later: "the unit is enabled and starts at your next login, or run `systemctl --user start switchboard` in your session",
            }
        }
        other => other,
    }
}

/// Makes the user manager read the unit (enabled already by [`link`]) and start it.
pub(super) fn load(restart: bool) -> Result<(), ServiceError> {
    systemctl(&["daemon-reload"])?;
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
        assert_eq!(argument("$HOME"), "\"$$HOME\"");
        assert_eq!(quote("K=$HOME"), "\"K=$HOME\"");
        assert_eq!(quote("\u{85}"), "\"\u{85}\"");
        assert_eq!(quote("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(quote("two\nlines"), "\"two\\nlines\"");
        assert_eq!(quote(""), "\"\"");
    }
}
