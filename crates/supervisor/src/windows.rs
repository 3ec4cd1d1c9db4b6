//! Windows process control: a Job Object per server or helper, so its whole process tree ends
//! with it and with the daemon, and the console events that stand in for SIGTERM.
//!
//! Every process [`crate::process`] starts on Windows gets a process group of its own
//! (`CREATE_NEW_PROCESS_GROUP`; the group id is the leader's pid) and is assigned at once to a
//! job created with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`. Its children join the job as they
//! start, and when the last handle to the job closes — the server's [`JobGuard`] was dropped,
//! or the daemon died, however — Windows ends every process in it: the job is what the
//! parent-death signal and the watchdog are on Linux. Jobs are registered here by group id, so
//! [`crate::os::end_group`] reaches them from anywhere in the daemon.
//!
//! Asking a group to end is `CTRL_BREAK_EVENT` to it, which reaches it only when the daemon and
//! the server share a console; without one the stop sequence's grace period simply runs out
//! and the job is terminated. The leader is assigned right after `CreateProcess` returns; a
//! child it started before that moment would be outside the job, but a program takes far
//! longer than that to start one.
//!
//! Deciding when to stop anything is not here; that is the supervisor's.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, STILL_ACTIVE};
use windows_sys::Win32::System::Console::{CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation, SetInformationJobObject,
    TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_TERMINATE, TerminateProcess,
};

pub use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

/// The exit code of every process ended by force: that of a process killed by Ctrl-C.
pub const KILLED_EXIT_CODE: u32 = 0xC000_013A;

/// Jobs of the groups this process started and has not dropped yet, by group id.
static JOBS: Mutex<BTreeMap<u32, Arc<Job>>> = Mutex::new(BTreeMap::new());

/// An owned kernel handle, closed on drop.
#[derive(Debug)]
struct Handle(HANDLE);

// SAFETY: a kernel handle is a process-wide value; the calls made on it here are thread-safe.
unsafe impl Send for Handle {}
// SAFETY: as above; nothing here mutates through a shared reference.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by this value and closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// A job that ends every process in it when its last handle closes.
#[derive(Debug)]
struct Job(Handle);

impl Job {
    fn new() -> io::Result<Self> {
        // SAFETY: no security attributes and no name: an anonymous job only this process holds.
        let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if raw.is_null() {
            return Err(io::Error::last_os_error());
        }
        let job = Self(Handle(raw));
        let mut limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        let size = u32::try_from(std::mem::size_of_val(&limits)).map_err(io::Error::other)?;
        // SAFETY: `limits` is the structure this information class takes, of the size given.
        let set = unsafe {
            SetInformationJobObject(
                job.0.0,
                JobObjectExtendedLimitInformation,
                std::ptr::from_ref(&limits).cast(),
                size,
            )
        };
        if set == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(job)
    }

    fn terminate(&self) -> bool {
        // SAFETY: the job handle is open for as long as `self`.
        unsafe { TerminateJobObject(self.0.0, KILLED_EXIT_CODE) != 0 }
    }
}

/// A started process's job, registered under its group id until dropped. Dropping it closes
/// this process's handle to the job, which ends every process still in it.
#[derive(Debug)]
pub struct JobGuard {
    pgid: u32,
}

impl Drop for JobGuard {
    fn drop(&mut self) {
        JOBS.lock().remove(&self.pgid);
    }
}

/// Puts the freshly spawned process `process` (whose pid is `pid`) into a job of its own.
pub fn contain(process: std::os::windows::io::RawHandle, pid: u32) -> io::Result<JobGuard> {
    let job = Job::new()?;
    // SAFETY: both handles are open: the job's is owned here, the process's by its `Child`.
    if unsafe { AssignProcessToJobObject(job.0.0, process) } == 0 {
        return Err(io::Error::last_os_error());
    }
    JOBS.lock().insert(pid, Arc::new(job));
    Ok(JobGuard { pgid: pid })
}

/// Asks the group `pgid` to end: `CTRL_BREAK_EVENT`, which a console program takes as its
/// SIGTERM. Returns whether the event was delivered.
pub fn ask_to_end(pgid: u32) -> bool {
    // SAFETY: no memory is passed; an unknown group is reported as a failure.
    unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pgid) != 0 }
}

/// Ends the group `pgid` now: its whole job if this process started it, else (the watchdog,
/// which holds no jobs) its leader.
pub fn end_now(pgid: u32) {
    let job = JOBS.lock().get(&pgid).cloned();
    if let Some(job) = job {
        if !job.terminate() {
            tracing::warn!(
                "cannot end the job of process group {pgid}: {}",
                io::Error::last_os_error()
            );
        }
        return;
    }
    if let Some(process) = open(pgid, PROCESS_TERMINATE) {
        // SAFETY: the handle is open with the right to terminate.
        unsafe { TerminateProcess(process.0, KILLED_EXIT_CODE) };
    }
}

/// Whether the leader of group `pgid` still runs.
pub fn alive(pgid: u32) -> bool {
    let Some(process) = open(pgid, PROCESS_QUERY_LIMITED_INFORMATION) else {
        return false;
    };
    let mut code = 0u32;
    // SAFETY: the handle is open with the right to query; `code` is a valid out-pointer.
    let read = unsafe { GetExitCodeProcess(process.0, &mut code) };
    read != 0 && i32::try_from(code).is_ok_and(|code| code == STILL_ACTIVE)
}

fn open(pid: u32, access: u32) -> Option<Handle> {
    // SAFETY: opening a process by id has no preconditions; failure is a null handle.
    let raw = unsafe { OpenProcess(access, 0, pid) };
    (!raw.is_null()).then_some(Handle(raw))
}
