//! The watchdog: ends every server and helper process group if the daemon dies without
//! stopping them.
//!
//! `PR_SET_PDEATHSIG` only reaches a server's direct child; its grandchildren (npx's node,
//! a shell's background jobs) would outlive a SIGKILLed daemon. So the daemon starts one
//! small helper, `switchboard-watchdog` (a program of its own beside `switchboard`, so little
//! code stays resident for it), and tells it over a pipe which
//! process groups exist (`+pgid` / `-pgid` lines). When the pipe reaches end-of-file — the
//! daemon exited, however it died — the watchdog sends SIGTERM to every group it was told
//! of, then SIGKILL to what is left, and exits. On Windows every group's job already ends
//! with the daemon ([`crate::windows`]); the watchdog there still holds the lock, and sends
//! `CTRL_BREAK_EVENT` then ends each leader it was told of, for what a job did not catch.
//!
//! While it works it holds `watchdog.lock`, and a starting daemon waits for that lock, so a
//! new daemon never races the previous one's servers for ports. This module does not decide
//! when processes stop in normal operation; that is the supervisor's.

use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
#[cfg(unix)]
use std::os::unix::process::CommandExt;
#[cfg(windows)]
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::helper::GroupWatch;
use crate::os::{End, end_group, group_alive};

/// How long ended groups get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(1500);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchdogError {
    #[error(
        "cannot start the watchdog `{program}` (it belongs beside `switchboard`): {source}; reinstall Switchboard"
    )]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("the watchdog did not start ({detail}); see the daemon's log")]
    NotReady { detail: String },
    #[error(
        "a previous daemon's watchdog is still ending its servers after {waited:?} (lock {lock}); wait a moment and start again"
    )]
    PreviousStillRunning { lock: PathBuf, waited: Duration },
    #[error("cannot use the watchdog lock {path}: {source}")]
    Lock { path: PathBuf, source: std::io::Error },
}

/// The daemon's end of the watchdog.
#[derive(Debug)]
pub struct Watchdog {
    stdin: Mutex<Option<ChildStdin>>,
    child: Mutex<Child>,
}

impl Watchdog {
    /// Waits for a previous daemon's watchdog to finish, then starts this daemon's: the
    /// `switchboard-watchdog` beside `switchboard`, the daemon's `program`.
    pub fn start(switchboard: &Path, lock: &Path) -> Result<Self, WatchdogError> {
        wait_for_previous(lock, Duration::from_secs(10))?;
        let program = beside(switchboard);
        let mut command = Command::new(&program);
        command
            .arg(lock)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // Its own group: a Ctrl-C meant for the daemon's terminal must not reach it.
        #[cfg(unix)]
        command.process_group(0);
        #[cfg(windows)]
        command.creation_flags(crate::windows::CREATE_NEW_PROCESS_GROUP);
        let mut child = command
            .spawn()
            .map_err(|source| WatchdogError::Spawn { program, source })?;
        let stdout = child.stdout.take().ok_or_else(|| WatchdogError::NotReady {
            detail: "no stdout".into(),
        })?;
        let mut ready = String::new();
        BufReader::new(stdout)
            .read_line(&mut ready)
            .map_err(|e| WatchdogError::NotReady {
                detail: e.to_string(),
            })?;
        if ready.trim() != "ready" {
            let _ = child.kill();
            return Err(WatchdogError::NotReady {
                detail: format!("it said {ready:?}"),
            });
        }
        Ok(Self {
            stdin: Mutex::new(child.stdin.take()),
            child: Mutex::new(child),
        })
    }

    /// The group `pgid` now exists and must die with the daemon.
    pub fn watch(&self, pgid: u32) {
        self.send(&format!("+{pgid}\n"));
    }

    /// The group `pgid` has been ended by the supervisor.
    pub fn unwatch(&self, pgid: u32) {
        self.send(&format!("-{pgid}\n"));
    }

    fn send(&self, line: &str) {
        let mut guard = self.stdin.lock();
        if let Some(stdin) = guard.as_mut()
            && let Err(e) = stdin.write_all(line.as_bytes())
        {
            tracing::warn!("the watchdog is gone ({e}); servers will not be ended if the daemon dies");
            *guard = None;
        }
    }

    /// Lets the watchdog exit: called at a clean shutdown, after every server was stopped.
    pub fn release(&self) {
        self.stdin.lock().take();
        let _ = self.child.lock().wait();
    }
}

impl GroupWatch for Watchdog {
    fn watch(&self, pgid: u32) {
        Watchdog::watch(self, pgid);
    }
    fn unwatch(&self, pgid: u32) {
        Watchdog::unwatch(self, pgid);
    }
}

/// The watchdog's program: `switchboard-watchdog` in the directory of `switchboard`.
fn beside(switchboard: &Path) -> PathBuf {
    let name = format!("switchboard-watchdog{}", std::env::consts::EXE_SUFFIX);
    switchboard.with_file_name(name)
}

fn wait_for_previous(lock: &Path, patience: Duration) -> Result<(), WatchdogError> {
    let file = open_lock(lock)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < patience => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(WatchdogError::PreviousStillRunning {
                    lock: lock.to_owned(),
                    waited: patience,
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(WatchdogError::Lock {
                    path: lock.to_owned(),
                    source,
                });
            }
        }
    }
}

fn open_lock(path: &Path) -> Result<File, WatchdogError> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| WatchdogError::Lock {
            path: path.to_owned(),
            source,
        })
}

/// The watchdog process's main: `switchboard-watchdog <lock>`.
pub fn run(lock: &Path) -> Result<(), WatchdogError> {
    let file = open_lock(lock)?;
    file.lock().map_err(|source| WatchdogError::Lock {
        path: lock.to_owned(),
        source,
    })?;
    // A terminal hang-up is no reason to stop watching.
    // SAFETY: setting a signal to SIG_IGN installs no handler code.
    #[cfg(unix)]
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGHUP,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "ready").and_then(|()| stdout.flush());

    let mut groups = BTreeSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (op, pgid) = line.split_at(line.len().min(1));
        match (op, pgid.parse::<u32>()) {
            ("+", Ok(pgid)) => {
                groups.insert(pgid);
            }
            ("-", Ok(pgid)) => {
                groups.remove(&pgid);
            }
            _ => {}
        }
    }
    end_groups(&groups);
    drop(file);
    Ok(())
}

fn end_groups(groups: &BTreeSet<u32>) {
    for &pgid in groups {
        end_group(pgid, End::Ask);
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline && groups.iter().any(|&g| group_alive(g)) {
        std::thread::sleep(Duration::from_millis(25));
    }
    for &pgid in groups {
        end_group(pgid, End::Force);
    }
}
