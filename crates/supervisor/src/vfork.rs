//! Starting a server process on Linux without copying the daemon, and waiting for it.
//!
//! [`spawn`] does what `posix_spawn` does, `clone(CLONE_VM | CLONE_VFORK)`, plus the steps it
//! cannot take: the parent-death signal and the open-file limit. The child borrows the
//! daemon's memory and the spawning thread sleeps until the child has executed its program
//! (or failed to), so nothing is copied. With `fork` every start copied the daemon's page
//! tables under its memory-map lock and left its memory copy-on-write until the child
//! executed: the gateway's threads stalled on page faults, and a server in a crash loop
//! tripled the p99 latency of calls to other servers.
//!
//! In borrowed memory the child may only make raw system calls (no allocation, no lock), so
//! everything it needs is built before the clone. [`Child`] waits on a pidfd. What to start,
//! and the process group's signals, are [`super::process`]'s business.

use std::ffi::{CString, OsStr, OsString, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use switchboard_model::ExitCause;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The child's stack: it makes a dozen system calls and then executes.
const CHILD_STACK: usize = 64 * 1024;

/// A program to start, with its arguments, environment and working directory.
#[derive(Debug)]
pub struct Command<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    /// The whole environment, not additions to the daemon's.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<&'a Path>,
    /// Soft and hard open-file limits to set in the child.
    pub fd_limit: Option<(u64, u64)>,
    /// `setsid` (a session and group of its own, no controlling terminal) instead of only
    /// `setpgid`: for helpers, which may run a user's interactive shell.
    pub new_session: bool,
}

/// A started process: its pid and the daemon's ends of its stdio pipes.
#[derive(Debug)]
pub struct Started {
    pub child: Child,
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The step of the child's setup that failed, told to the parent with its errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
enum Step {
    ProcessGroup = 1,
    Stdio,
    WorkingDirectory,
    FdLimit,
    ParentDeathSignal,
    ParentGone,
    Exec,
}

impl Step {
    const ALL: [Self; 7] = [
        Self::ProcessGroup,
        Self::Stdio,
        Self::WorkingDirectory,
        Self::FdLimit,
        Self::ParentDeathSignal,
        Self::ParentGone,
        Self::Exec,
    ];

    fn describe(self) -> &'static str {
        match self {
            Self::ProcessGroup => "creating its process group (or session)",
            Self::Stdio => "connecting its stdin, stdout and stderr",
            Self::WorkingDirectory => "entering its working directory",
            Self::FdLimit => "setting its open-file limit",
            Self::ParentDeathSignal => "asking to end with the daemon",
            Self::ParentGone => "starting it while the daemon exited",
            Self::Exec => "executing it",
        }
    }
}

/// Everything the child reads, prepared by the parent; the pointers stay valid because the
/// parent sleeps until the child executes or exits.
struct Context {
    program: *const libc::c_char,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: *const libc::c_char,
    stdio: [RawFd; 3],
    fd_limit: Option<libc::rlimit>,
    parent: libc::pid_t,
    new_session: bool,
    /// A [`Step`], or 0 while none has failed.
    failed_step: AtomicI32,
    failed_errno: AtomicI32,
}

/// Starts `command` in its own process group with piped stdio, set to receive SIGKILL when
/// the calling thread ends. The thread must live as long as the daemon (a runtime worker),
/// because Linux sends that signal when the *thread* that cloned the child exits.
pub fn spawn(command: &Command<'_>) -> io::Result<Started> {
    let program = c_string(command.program.as_os_str())?;
    let argv = std::iter::once(Ok(program.clone()))
        .chain(command.args.iter().map(|arg| c_string(OsStr::new(arg))))
        .collect::<io::Result<Vec<_>>>()?;
    let envp = command
        .env
        .iter()
        .map(|(key, value)| {
            let mut pair = key.clone();
            pair.push("=");
            pair.push(value);
            c_string(&pair)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let cwd = command.cwd.map(|dir| c_string(dir.as_os_str())).transpose()?;
    let argv_ptrs = null_terminated(&argv);
    let envp_ptrs = null_terminated(&envp);

    let (stdin_child, stdin) = pipe()?;
    let (stdout, stdout_child) = pipe()?;
    let (stderr, stderr_child) = pipe()?;
    let context = Context {
        program: program.as_ptr(),
        argv: argv_ptrs.as_ptr(),
        envp: envp_ptrs.as_ptr(),
        cwd: cwd.as_ref().map_or(std::ptr::null(), |dir| dir.as_ptr()),
        stdio: [
            stdin_child.as_raw_fd(),
            stdout_child.as_raw_fd(),
            stderr_child.as_raw_fd(),
        ],
        fd_limit: command.fd_limit.map(|(soft, hard)| libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        }),
        parent: std::process::id() as libc::pid_t,
        new_session: command.new_session,
        failed_step: AtomicI32::new(0),
        failed_errno: AtomicI32::new(0),
    };
    let mut stack = vec![0u128; CHILD_STACK / size_of::<u128>()];

    // Every signal is blocked across the clone so that no handler of the daemon runs in the
    // child, which would then write to the daemon's memory; the child unblocks before exec.
    let previous = pthread_sigmask_all()?;
    // SAFETY: the stack is ours and outlives the child's use of it (CLONE_VFORK suspends this
    // thread until the child executes or exits); the context is borrowed for the same span;
    // `child_main` only makes async-signal-safe system calls.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()).cast::<c_void>();
        libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            std::ptr::from_ref(&context).cast_mut().cast::<c_void>(),
        )
    };
    let clone_error = io::Error::last_os_error();
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    drop(stack);
    if pid < 0 {
        return Err(clone_error);
    }
    let failed = context.failed_step.load(Ordering::Acquire);
    if let Some(step) = Step::ALL.into_iter().find(|step| *step as i32 == failed) {
        let _ = waitpid(Pid::from_raw(pid), None);
        let cause = io::Error::from_raw_os_error(context.failed_errno.load(Ordering::Acquire));
        return Err(io::Error::new(
            cause.kind(),
            format!("{} failed: {cause}", step.describe()),
        ));
    }
    Ok(Started {
        child: Child::new(pid),
        stdin,
        stdout,
        stderr,
    })
}

/// The child: sets itself up and executes the program, or records what failed and exits.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `Context`, alive while the parent is suspended.
    let context = unsafe { &*arg.cast::<Context>() };
    let fail = |step: Step| -> c_int {
        // SAFETY: reading errno; this thread's errno location is the suspended parent's.
        let errno = unsafe { *libc::__errno_location() };
        context.failed_errno.store(errno, Ordering::Release);
        context.failed_step.store(step as i32, Ordering::Release);
        // SAFETY: leaves without running any of the daemon's exit code.
        unsafe { libc::_exit(127) }
    };
    // SAFETY: raw system calls on values the parent prepared; none allocates or locks.
    unsafe {
        // Signals the daemon ignores (the Rust runtime ignores SIGPIPE) would stay ignored
        // after exec; handled ones are reset by exec itself. The system call is made directly
        // because libc refuses to touch the two signals it reserves. An all-zero kernel
        // `sigaction` is SIG_DFL with no flags and an empty mask on every architecture.
        let default = [0u64; 4];
        for signal in 1..=64 {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    signal,
                    default.as_ptr(),
                    std::ptr::null_mut::<u64>(),
                    8,
                );
            }
        }
        let grouped = if context.new_session {
            libc::setsid() >= 0
        } else {
            libc::setpgid(0, 0) == 0
        };
        if !grouped {
            return fail(Step::ProcessGroup);
        }
        for (target, fd) in context.stdio.iter().enumerate() {
            if libc::dup2(*fd, target as c_int) < 0 {
                return fail(Step::Stdio);
            }
        }
        if !context.cwd.is_null() && libc::chdir(context.cwd) != 0 {
            return fail(Step::WorkingDirectory);
        }
        if let Some(limit) = &context.fd_limit
            && libc::setrlimit(libc::RLIMIT_NOFILE, limit) != 0
        {
            return fail(Step::FdLimit);
        }
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return fail(Step::ParentDeathSignal);
        }
        // The daemon may have died before prctl; then nobody would end this server.
        if libc::getppid() != context.parent {
            *libc::__errno_location() = libc::ESRCH;
            return fail(Step::ParentGone);
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        libc::execve(context.program, context.argv, context.envp);
    }
    fail(Step::Exec)
}

/// A child process started by [`spawn`]. Dropping it before it was waited for kills it (the
/// supervisor always waits; this is the safety net) and reaps it in the background.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    /// Readable once the process has exited; `None` where pidfds are missing (Linux < 5.3).
    pidfd: Option<AsyncFd<OwnedFd>>,
    exited: Option<ExitCause>,
}

impl Child {
    fn new(pid: libc::pid_t) -> Self {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = c_int::try_from(fd)
            .ok()
            .filter(|fd| *fd >= 0)
            // SAFETY: the descriptor was just returned to us and is owned by nobody else.
            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
            // SAFETY: an `OwnedFd` keeps its descriptor open and answers it until dropped.
            .and_then(|fd| unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok());
        Self {
            pid: Pid::from_raw(pid),
            pidfd,
            exited: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.pid.as_raw().unsigned_abs()
    }

    /// Waits for the process to exit and reaps it. Cancel-safe.
    pub async fn wait(&mut self) -> ExitCause {
        if let Some(cause) = &self.exited {
            return cause.clone();
        }
        let cause = reap(self.pid, self.pidfd.as_ref()).await;
        self.exited = Some(cause.clone());
        cause
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        let (pid, pidfd) = (self.pid, self.pidfd.take());
        // Reaped where it cannot block anyone: a task if a runtime is running, else here,
        // which is quick as the process has been killed.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { reap(pid, pidfd.as_ref()).await });
            }
            Err(_) => {
                let _ = waitpid(pid, None);
            }
        }
    }
}

/// Waits for `pid` to exit and reaps it. Nothing is awaited after the reap, so a cancelled
/// wait has not consumed the exit status.
async fn reap(pid: Pid, pidfd: Option<&AsyncFd<OwnedFd>>) -> ExitCause {
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return ExitCause::Exited { code },
            Ok(WaitStatus::Signaled(_, signal, _)) => {
                return ExitCause::Signaled {
                    signal: signal as i32,
                };
            }
            Err(nix::errno::Errno::EINTR) => continue,
            // Only a process reaped elsewhere is missing, which `Child` prevents; should it
            // happen, the cause says so rather than inventing one.
            Err(errno) => {
                return ExitCause::Unobserved {
                    error: format!("waitpid({pid}): {}", errno.desc()),
                };
            }
            Ok(_) => {}
        }
        match pidfd {
            Some(pidfd) => match pidfd.readable().await {
                Ok(mut ready) => ready.clear_ready(),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn c_string(text: &OsStr) -> io::Result<CString> {
    CString::new(text.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{text:?} contains a NUL byte, which a program's arguments and environment cannot hold"),
        )
    })
}

fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// A close-on-exec pipe `(read, write)`, both ends numbered above stdio so the child's `dup2`
/// onto 0, 1 and 2 never overwrites one it still needs.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    Ok((above_stdio(read)?, above_stdio(write)?))
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let moved = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))?;
    // SAFETY: fcntl returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// Blocks every signal on this thread, returning the previous mask.
fn pthread_sigmask_all() -> io::Result<SigSet> {
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::all()), Some(&mut previous))?;
    Ok(previous)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn command<'a>(program: &'a Path, args: &'a [String]) -> Command<'a> {
        Command {
            program,
            args,
            env: std::env::vars_os().collect(),
            cwd: None,
            fd_limit: None,
            new_session: false,
        }
    }

    fn output(stdout: OwnedFd) -> String {
        let mut text = String::new();
        std::fs::File::from(stdout)
            .read_to_string(&mut text)
            .expect("stdout");
        text
    }

    #[tokio::test]
    async fn the_child_gets_its_arguments_environment_directory_group_and_limit() {
        let args = [
            "-c".to_owned(),
            "echo \"$1 $SB_TEST $(pwd) $(ps -o pgid= -p $$ | tr -d ' ')\"; ulimit -n".to_owned(),
            "sh".to_owned(),
            "first".to_owned(),
        ];
        let mut spec = command(Path::new("/bin/sh"), &args);
        spec.env = vec![
            ("SB_TEST".into(), "value".into()),
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
        ];
        spec.cwd = Some(Path::new("/tmp"));
        spec.fd_limit = Some((200, 300));
        let Started {
            mut child, stdout, ..
        } = spawn(&spec).expect("spawns");
        let pid = child.id();
        let text = output(stdout);
        assert_eq!(text, format!("first value /tmp {pid}\n200\n"));
        assert_eq!(child.wait().await, ExitCause::Exited { code: 0 });
    }

    /// A failed wait was reported as "killed by signal 9", which sent people looking for
    /// an OOM killer that never ran.
    #[tokio::test]
    async fn a_wait_that_fails_says_so_instead_of_inventing_a_signal() {
        let Started { mut child, .. } = spawn(&command(Path::new("/bin/true"), &Vec::new())).expect("spawns");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        // Reaped behind the child's back, as a stray waitpid(-1) elsewhere would.
        assert!(matches!(waitpid(pid, None), Ok(WaitStatus::Exited(_, 0))));
        match child.wait().await {
            ExitCause::Unobserved { error } => assert!(error.contains("No child process"), "{error}"),
            other => panic!("expected an unobserved exit, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn signals_the_daemon_ignores_are_not_ignored_by_the_child() {
        // The test harness, like the daemon, ignores SIGPIPE.
        let args = ["-c".to_owned(), "grep SigIgn /proc/self/status".to_owned()];
        let Started {
            mut child, stdout, ..
        } = spawn(&command(Path::new("/bin/sh"), &args)).expect("spawns");
        assert_eq!(output(stdout), "SigIgn:\t0000000000000000\n");
        assert_eq!(child.wait().await, ExitCause::Exited { code: 0 });
    }

    #[tokio::test]
    async fn a_program_that_cannot_be_executed_is_an_error_with_nothing_left_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = dir.path().join("not-a-program");
        std::fs::write(&program, b"\x7fELF garbage").expect("write");
        std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let error = spawn(&command(&program, &[])).expect_err("cannot execute");
        assert!(error.to_string().starts_with("executing it failed: "), "{error}");
        // The failed child was reaped: no child of this process is left.
        assert_eq!(
            waitpid(None, Some(WaitPidFlag::WNOHANG)),
            Err(nix::errno::Errno::ECHILD)
        );
    }

    #[test]
    fn the_child_is_killed_when_the_thread_that_started_it_ends() {
        let args = ["30".to_owned()];
        let pid = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let _entered = runtime.enter();
            let started = spawn(&command(Path::new("/bin/sleep"), &args)).expect("spawns");
            let pid = started.child.pid;
            // Not dropped: that would kill it, and this test is about the thread's end.
            std::mem::forget(started.child);
            pid
        })
        .join()
        .expect("thread");
        assert_eq!(
            waitpid(pid, None),
            Ok(WaitStatus::Signaled(pid, Signal::SIGKILL, false))
        );
    }

    #[tokio::test]
    async fn dropping_a_child_kills_and_reaps_it() {
        let args = ["30".to_owned()];
        let started = spawn(&command(Path::new("/bin/sleep"), &args)).expect("spawns");
        let pid = started.child.pid;
        drop(started);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // Reaped by a background task: the pid stops existing.
        while kill(pid, None).is_ok() {
            assert!(std::time::Instant::now() < deadline, "{pid} still exists");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
