//! The one place that spawns server processes, and the one that ends them.
//!
//! [`spawn`] starts every process the daemon runs for a server: its own process group (so its
//! whole tree can be signalled at once), piped stdio, and on Linux `PR_SET_PDEATHSIG` (so it
//! dies with the daemon) and the open-file limit the daemon was started with (see
//! [`raise_fd_limit`]). On Linux the process is cloned without copying the daemon
//! ([`super::vfork`]); elsewhere the standard library's `posix_spawn` does the same, without
//! the parent-death signal, which leaves that to the watchdog. [`ServerProcess::stop`] is the
//! stop sequence: close stdin, SIGTERM to the group, a grace period, SIGKILL. Programs are
//! found with [`crate::os::find_program`] before spawning so "not installed" is told apart from every
//! other failure. On Windows the group is a console process group inside a Job Object of its
//! own, SIGTERM is `CTRL_BREAK_EVENT` and SIGKILL the job's termination ([`crate::windows`]);
//! a `.cmd` or `.bat` launcher (`npx.cmd`) is found through `PATHEXT` and run by the standard
//! library through `cmd.exe /c`, which quotes its arguments for cmd (and refuses, as an
//! error, an argument it cannot pass safely). What the process says, and when to restart it,
//! are the actor's business.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
#[cfg(not(target_os = "linux"))]
use std::process::{ExitStatus, Stdio};
#[cfg(unix)]
use std::sync::OnceLock;
use std::time::Duration;

#[cfg(all(unix, not(target_os = "linux")))]
use nix::sys::signal::Signal;
use switchboard_model::{ExitCause, Launch};
use tokio::process::{ChildStderr, ChildStdin, ChildStdout};

use crate::os::{End, end_group, executable_at, find_program};

/// The open-file limit the daemon was started with, restored in every server it spawns.
#[cfg(unix)]
static INHERITED_FD_LIMIT: OnceLock<(u64, u64)> = OnceLock::new();

/// How a process reaped elsewhere is reported: as killed.
#[cfg(all(unix, not(target_os = "linux")))]
const KILLED: i32 = Signal::SIGKILL as i32;
/// Windows has no signals: SIGKILL's number, which the rest of the product reads as "killed".
#[cfg(windows)]
const KILLED: i32 = 9;

/// Raises the daemon's open-file limit to the hard limit. Every client connection and every
/// server's pipes hold descriptors, and the usual soft limit (1024) is too few for a thousand
/// sessions. Servers still start with the limit they inherited, as some expect it. Unix only:
/// Windows limits a process's handles only by memory.
#[cfg(unix)]
pub fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    if soft < hard
        && INHERITED_FD_LIMIT.set((soft, hard)).is_ok()
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
    }
}

/// A running server process, leader of its own process group.
#[derive(Debug)]
pub struct ServerProcess {
    #[cfg(target_os = "linux")]
    child: super::vfork::Child,
    #[cfg(not(target_os = "linux"))]
    child: tokio::process::Child,
    pid: u32,
    /// The job holding the process tree: dropping it ends the tree.
    #[cfg(windows)]
    _job: crate::windows::JobGuard,
}

/// The pipes of a freshly spawned process, handed to whoever speaks to it.
#[derive(Debug)]
pub struct Pipes {
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    #[error("cannot find `{program}` on PATH; install it or give its absolute path")]
    ProgramNotFound { program: String },
    #[error("working directory {path} does not exist; create it or change the server's cwd")]
    MissingCwd { path: PathBuf },
    #[error("cannot start `{program}`: {source}")]
    Io { program: String, source: std::io::Error },
}

/// What [`start`] runs: a server's [`Launch`] or a helper's command.
#[derive(Debug)]
pub(super) struct Start<'a> {
    /// A bare name searched on PATH, or a path.
    pub program: &'a OsStr,
    pub args: &'a [OsString],
    pub cwd: Option<&'a Path>,
    /// Added to the daemon's own environment.
    pub env: Vec<(OsString, OsString)>,
    /// A session of its own, so no controlling terminal, rather than only a process group.
    pub new_session: bool,
}

/// Spawns `launch` with `env` added to the daemon's own environment.
///
/// Must be called from a runtime worker thread, never from `spawn_blocking`: Linux delivers
/// the parent-death signal when the *thread* that spawned exits, and blocking-pool threads
/// exit when idle.
pub fn spawn(launch: &Launch, env: &BTreeMap<String, String>) -> Result<(ServerProcess, Pipes), SpawnError> {
    let args: Vec<OsString> = launch.args.iter().map(OsString::from).collect();
    start(&Start {
        program: OsStr::new(&launch.command),
        args: &args,
        cwd: launch.cwd.as_deref(),
        env: env
            .iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect(),
        new_session: false,
    })
}

/// Spawns `what`: every process the daemon starts, servers and helpers, starts here.
pub(super) fn start(what: &Start<'_>) -> Result<(ServerProcess, Pipes), SpawnError> {
    if let Some(cwd) = what.cwd
        && !cwd.is_dir()
    {
        return Err(SpawnError::MissingCwd { path: cwd.to_owned() });
    }
    let program = resolve(what)?;
    spawn_process(what, &program).map_err(|source| SpawnError::Io {
        program: what.program.to_string_lossy().into_owned(),
        source,
    })
}

/// The file `what.program` names: a path as given (relative to its cwd), or a bare name
/// searched in the PATH it will run with.
fn resolve(what: &Start<'_>) -> Result<PathBuf, SpawnError> {
    let shown = what.program.to_string_lossy().into_owned();
    let path_var = what
        .env
        .iter()
        .rev()
        .find(|(key, _)| key == "PATH")
        .map(|(_, value)| value.clone())
        .or_else(|| std::env::var_os("PATH"));
    let program = if Path::new(what.program).components().count() > 1 {
        let path = match what.cwd {
            Some(dir) if Path::new(what.program).is_relative() => dir.join(what.program),
            _ => PathBuf::from(what.program),
        };
        executable_at(path)
    } else {
        find_program(&shown, path_var.as_deref(), what.cwd)
    };
    program.ok_or(SpawnError::ProgramNotFound { program: shown })
}

/// On Linux: cloned without copying the daemon ([`super::vfork`]).
#[cfg(target_os = "linux")]
fn spawn_process(what: &Start<'_>, program: &Path) -> std::io::Result<(ServerProcess, Pipes)> {
    let args = what
        .args
        .iter()
        .map(|arg| {
            arg.to_str().map(str::to_owned).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("its argument {arg:?} is not UTF-8"),
                )
            })
        })
        .collect::<std::io::Result<Vec<String>>>()?;
    let mut environment: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    environment.extend(what.env.iter().cloned());
    let started = super::vfork::spawn(&super::vfork::Command {
        program,
        args: &args,
        env: environment.into_iter().collect(),
        cwd: what.cwd,
        fd_limit: INHERITED_FD_LIMIT.get().copied(),
        new_session: what.new_session,
    })?;
    let pid = started.child.id();
    let pipes = Pipes {
        stdin: ChildStdin::from_std(started.stdin.into())?,
        stdout: ChildStdout::from_std(started.stdout.into())?,
        stderr: ChildStderr::from_std(started.stderr.into())?,
    };
    Ok((
        ServerProcess {
            child: started.child,
            pid,
        },
        pipes,
    ))
}

/// Elsewhere: the standard library's `posix_spawn`, in a group (or session) of its own.
#[cfg(not(target_os = "linux"))]
fn spawn_process(what: &Start<'_>, program: &Path) -> std::io::Result<(ServerProcess, Pipes)> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(what.args)
        .envs(what.env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The supervisor reaps explicitly; this is the safety net if a handle is dropped.
        .kill_on_drop(true);
    isolate(&mut command, what.new_session);
    if let Some(cwd) = what.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn()?;
    let (Some(pid), Some(stdin), Some(stdout), Some(stderr)) = (
        child.id(),
        child.stdin.take(),
        child.stdout.take(),
        child.stderr.take(),
    ) else {
        return Err(std::io::Error::other(
            "the process exited before its pipes were set up",
        ));
    };
    Ok((
        ServerProcess {
            #[cfg(windows)]
            _job: contain(&child, pid)?,
            child,
            pid,
        },
        Pipes {
            stdin,
            stdout,
            stderr,
        },
    ))
}

/// A group (or session) of its own.
#[cfg(all(unix, not(target_os = "linux")))]
fn isolate(command: &mut tokio::process::Command, new_session: bool) {
    if new_session {
        // SAFETY: setsid is async-signal-safe and touches nothing of the parent.
        unsafe {
            command.pre_exec(|| nix::unistd::setsid().map(drop).map_err(std::io::Error::from));
        }
    } else {
        command.process_group(0);
    }
}

/// A console process group of its own: Windows has no sessions to leave, and no controlling
/// terminal to lose.
#[cfg(windows)]
fn isolate(command: &mut tokio::process::Command, _new_session: bool) {
    command.creation_flags(crate::windows::CREATE_NEW_PROCESS_GROUP);
}

/// The job that ends `child`'s tree with it (see [`crate::windows`]).
#[cfg(windows)]
fn contain(child: &tokio::process::Child, pid: u32) -> std::io::Result<crate::windows::JobGuard> {
    let handle = child
        .raw_handle()
        .ok_or_else(|| std::io::Error::other("the process exited before it could be put in a job"))?;
    crate::windows::contain(handle, pid)
}

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process group id, equal to the leader's pid.
    pub fn pgid(&self) -> u32 {
        self.pid
    }

    /// Waits for the leader to exit. Cancel-safe, so it can sit in a `select!`.
    pub async fn wait(&mut self) -> ExitCause {
        #[cfg(target_os = "linux")]
        return self.child.wait().await;
        #[cfg(not(target_os = "linux"))]
        match self.child.wait().await {
            Ok(status) => exit_cause(status),
            // Waiting only fails if the child was already reaped, which this type prevents.
            Err(_) => ExitCause::Signaled { signal: KILLED },
        }
    }

    /// SIGKILL to the whole group: for a server that must go now (hung, handshake timeout), and
    /// after a leader's exit, for grandchildren that would otherwise keep ports and pipes open.
    pub fn kill_group(&self) {
        end_group(self.pgid(), End::Force);
    }

    /// The stop sequence, after the caller closed the server's stdin (the MCP way to ask a
    /// stdio server to exit): SIGTERM to the group after `grace / 2`, SIGKILL after `grace` more.
    pub async fn stop(mut self, grace: Duration) -> ExitCause {
        if let Ok(cause) = tokio::time::timeout(grace / 2, self.wait()).await {
            self.kill_group();
            return cause;
        }
        end_group(self.pgid(), End::Ask);
        let cause = match tokio::time::timeout(grace, self.wait()).await {
            Ok(cause) => cause,
            Err(_) => {
                end_group(self.pgid(), End::Force);
                self.wait().await
            }
        };
        self.kill_group();
        cause
    }
}

#[cfg(all(unix, not(target_os = "linux")))]
fn exit_cause(status: ExitStatus) -> ExitCause {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCause::Exited { code },
        (None, Some(signal)) => ExitCause::Signaled { signal },
        (None, None) => ExitCause::Exited { code: -1 },
    }
}

/// Windows reports every exit as a code, a forced end included
/// ([`crate::windows::KILLED_EXIT_CODE`]).
#[cfg(windows)]
fn exit_cause(status: ExitStatus) -> ExitCause {
    ExitCause::Exited {
        code: status.code().unwrap_or(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;

    fn launch(command: &str, args: &[&str]) -> Launch {
        Launch {
            command: command.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            env: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn missing_program_and_cwd_are_classified() {
        let err = spawn(&launch("definitely-not-installed-xyz", &[]), &BTreeMap::new()).expect_err("missing");
        assert!(matches!(err, SpawnError::ProgramNotFound { .. }), "{err:?}");
        let mut l = launch("sh", &[]);
        l.cwd = Some(PathBuf::from("/no/such/dir"));
        assert!(matches!(
            spawn(&l, &BTreeMap::new()),
            Err(SpawnError::MissingCwd { .. })
        ));
    }

    #[tokio::test]
    async fn stop_ends_a_process_that_ignores_stdin_and_sigterm() {
        let script = "trap '' TERM; sleep 30 & wait";
        let (process, pipes) = spawn(&launch("sh", &["-c", script]), &BTreeMap::new()).expect("spawns");
        let pgid = process.pgid();
        drop(pipes.stdin);
        let cause = process.stop(Duration::from_millis(200)).await;
        assert_eq!(
            cause,
            ExitCause::Signaled {
                signal: Signal::SIGKILL as i32
            }
        );
        // The background sleep, in the same group, is gone too (a zombie awaiting a reaper is
        // not running; where PID 1 does not reap, zombies linger). SIGKILL is delivered at
        // once but the exit itself takes a moment: waited for, with a deadline.
        let running = || {
            std::fs::read_dir("/proc").expect("proc").flatten().any(|entry| {
                let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map(|(_, r)| r.split_whitespace().collect())
                    .unwrap_or_default();
                fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z")
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while running() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!running(), "process group {pgid} still has running members");
    }

    #[tokio::test]
    async fn stop_is_graceful_for_a_process_that_exits_on_eof() {
        let (process, pipes) = spawn(&launch("cat", &[]), &BTreeMap::new()).expect("spawns");
        drop(pipes.stdin);
        let cause = process.stop(Duration::from_secs(10)).await;
        assert_eq!(cause, ExitCause::Exited { code: 0 });
    }
}
