//! Helper processes: the package managers, image pulls, the login shell and version probes
//! the daemon runs to completion, started through [`super::process`] like every server.
//!
//! [`Helpers::run`] gives each helper what a server gets and more: a session of its own (so a
//! process group, and no controlling terminal even when the daemon runs in one), stdin at end
//! of file, on Linux the parent-death signal, and registration with the watchdog for as long
//! as it runs, so a SIGKILLed daemon leaves none of its processes behind. Its output is kept
//! within a cap (the head and the tail, see [`Captured`]). At its deadline the whole group gets
//! SIGTERM, a grace period, then SIGKILL; when the leader exits, whatever it left running in
//! its group is killed; and dropping the future (a cancelled install) kills the group at once.
//! What to run and what its output means are the caller's business.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use switchboard_model::ExitCause;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::process::{self, ServerProcess, SpawnError, Start};
use crate::os::{End, end_group};

/// How long a helper may run unless its command says otherwise.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(600);
/// How much of each of stdout and stderr is kept unless the command says otherwise.
pub const DEFAULT_OUTPUT_CAP: usize = 1 << 20;
/// Time between SIGTERM and SIGKILL for a helper past its deadline.
const GRACE: Duration = Duration::from_secs(2);
/// How long output is still read after the group was ended: only a process that left the
/// group (a daemon it started with its own `setsid`) can hold the pipes open longer.
const DRAIN: Duration = Duration::from_secs(2);

/// Who must hear of every process group, so that it ends with the daemon: the watchdog.
pub trait GroupWatch: Send + Sync + std::fmt::Debug {
    /// The group `pgid` now exists.
    fn watch(&self, pgid: u32);
    /// The group `pgid` has been ended.
    fn unwatch(&self, pgid: u32);
}

/// A helper to run: built like a `std::process::Command`.
#[derive(Clone, Debug)]
pub struct HelperCommand {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    deadline: Duration,
    output_cap: usize,
}

impl HelperCommand {
    /// `program`: a bare name searched on PATH (the command's own, else the daemon's), or a path.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            deadline: DEFAULT_DEADLINE,
            output_cap: DEFAULT_OUTPUT_CAP,
        }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// Adds `key=value` to the daemon's environment for this helper.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// After `deadline` the helper and every process of its group are ended.
    pub fn deadline(&mut self, deadline: Duration) -> &mut Self {
        self.deadline = deadline;
        self
    }

    /// At most `bytes` of each of stdout and stderr are kept (the first and last halves).
    pub fn output_cap(&mut self, bytes: usize) -> &mut Self {
        self.output_cap = bytes;
        self
    }

    /// The program as given, for messages.
    pub fn program(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }
}

/// How a helper ended, with what it said.
#[derive(Debug)]
pub struct HelperOutput {
    pub exit: ExitCause,
    pub stdout: Captured,
    pub stderr: Captured,
}

impl HelperOutput {
    pub fn success(&self) -> bool {
        self.exit == ExitCause::Exited { code: 0 }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelperError {
    #[error(
        "cannot find `{program}`; install it, or run `switchboard doctor` to see where it was looked for"
    )]
    ProgramNotFound { program: String },
    #[error("cannot start `{program}`: {source}")]
    Start { program: String, source: SpawnError },
    #[error(
        "`{program}` did not finish within {deadline:?}, so it was ended with every process it started{}",
        if stderr_tail.is_empty() { String::new() } else { format!("; it last said:\n{stderr_tail}") }
    )]
    TimedOut {
        program: String,
        deadline: Duration,
        stderr_tail: String,
    },
}

/// Runs helpers, telling the watchdog (when there is one) of each one's process group.
#[derive(Clone, Debug, Default)]
pub struct Helpers {
    watch: Option<Arc<dyn GroupWatch>>,
}

impl Helpers {
    /// Helpers whose groups `watch` is told of.
    pub fn watched(watch: Arc<dyn GroupWatch>) -> Self {
        Self { watch: Some(watch) }
    }

    /// Helpers without a watchdog: for tests and tools that run no daemon.
    pub fn unwatched() -> Self {
        Self::default()
    }

    /// Runs `command` to its end or its deadline. A nonzero exit is an output, not an error.
    ///
    /// Must be called from a runtime worker thread, never from `spawn_blocking` (see
    /// [`process::spawn`]).
    pub async fn run(&self, command: &HelperCommand) -> Result<HelperOutput, HelperError> {
        let program = command.program();
        let (mut process, pipes) = process::start(&Start {
            program: &command.program,
            args: &command.args,
            cwd: command.cwd.as_deref(),
            env: command.env.clone(),
            new_session: true,
        })
        .map_err(|source| match source {
            SpawnError::ProgramNotFound { program } => HelperError::ProgramNotFound { program },
            source => HelperError::Start {
                program: program.clone(),
                source,
            },
        })?;
        let group = Group::new(self.watch.clone(), process.pgid());
        drop(pipes.stdin);
        let mut stdout = Captured::new(command.output_cap);
        let mut stderr = Captured::new(command.output_cap);
        let ended = {
            let reading = async {
                tokio::join!(stdout.fill(pipes.stdout), stderr.fill(pipes.stderr));
            };
            let waiting = finish(&mut process, command.deadline);
            tokio::pin!(reading, waiting);
            tokio::select! {
                ended = &mut waiting => {
                    let _ = tokio::time::timeout(DRAIN, reading).await;
                    ended
                }
                () = &mut reading => waiting.await,
            }
        };
        group.ended();
        match ended {
            Ended::Exited(exit) => Ok(HelperOutput { exit, stdout, stderr }),
            Ended::TimedOut => Err(HelperError::TimedOut {
                program,
                deadline: command.deadline,
                stderr_tail: stderr.last_lines(6),
            }),
        }
    }
}

enum Ended {
    Exited(ExitCause),
    TimedOut,
}

/// Waits for the leader until `deadline`, ends the group past it, and in every case kills
/// what the leader left running in its group.
async fn finish(process: &mut ServerProcess, deadline: Duration) -> Ended {
    let ended = match tokio::time::timeout(deadline, process.wait()).await {
        Ok(exit) => Ended::Exited(exit),
        Err(_) => {
            end_group(process.pgid(), End::Ask);
            if tokio::time::timeout(GRACE, process.wait()).await.is_err() {
                end_group(process.pgid(), End::Force);
                process.wait().await;
            }
            Ended::TimedOut
        }
    };
    process.kill_group();
    ended
}

/// A helper's process group while it runs: registered with the watchdog, and killed if the
/// run is dropped before [`Group::ended`] (the caller was cancelled).
#[derive(Debug)]
struct Group {
    watch: Option<Arc<dyn GroupWatch>>,
    pgid: u32,
    running: bool,
}

impl Group {
    fn new(watch: Option<Arc<dyn GroupWatch>>, pgid: u32) -> Self {
        if let Some(watch) = &watch {
            watch.watch(pgid);
        }
        Self {
            watch,
            pgid,
            running: true,
        }
    }

    /// The group was ended by [`finish`].
    fn ended(mut self) {
        self.running = false;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.running {
            end_group(self.pgid, End::Force);
        }
        if let Some(watch) = &self.watch {
            watch.unwatch(self.pgid);
        }
    }
}

/// What a helper wrote to one pipe: all of it up to the cap, else its first and last halves.
#[derive(Debug)]
pub struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    omitted: u64,
}

impl Captured {
    fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap: cap - head_cap,
            omitted: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        let to_head = bytes.len().min(self.head_cap - self.head.len());
        self.head.extend_from_slice(&bytes[..to_head]);
        bytes = &bytes[to_head..];
        if bytes.len() >= self.tail_cap {
            self.omitted += (self.tail.len() + bytes.len() - self.tail_cap) as u64;
            self.tail.clear();
            self.tail.extend(&bytes[bytes.len() - self.tail_cap..]);
            return;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.tail_cap);
        self.tail.drain(..overflow);
        self.omitted += overflow as u64;
        self.tail.extend(bytes);
    }

    /// Reads `pipe` to its end (or a read error, which ends it too).
    async fn fill(&mut self, mut pipe: impl AsyncRead + Unpin) {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(read @ 1..) = pipe.read(&mut buf).await {
            self.push(&buf[..read]);
        }
    }

    /// Bytes that were written but not kept.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// Everything kept, with a marker where bytes were left out.
    pub fn text(&self) -> String {
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.omitted > 0 {
            text.push_str(&format!("\n[… {} bytes left out …]\n", self.omitted));
        }
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }

    /// The last `count` non-blank lines kept.
    pub fn last_lines(&self, count: usize) -> String {
        let text = self.text();
        let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(count)..].join("\n")
    }
}

#[cfg(test)]
#[path = "helper_tests.rs"]
mod tests;
