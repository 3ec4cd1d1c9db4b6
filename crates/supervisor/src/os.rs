//! The few operating-system helpers several rooms share: finding a program as a shell would,
//! and signalling a process group.
//!
//! Spawning is not here: [`crate::process`] is the one place that starts
//! processes. This module only answers questions about programs and sends signals.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Finds `program` the way a shell would: a path containing `/` is taken as is (relative to
/// `cwd`), a bare name is searched in `path_var`. Only executable regular files count.
pub fn find_program(program: &str, path_var: Option<&OsStr>, cwd: Option<&Path>) -> Option<PathBuf> {
    if program.contains(std::path::MAIN_SEPARATOR) || program.contains('/') {
        let path = match cwd {
            Some(dir) if Path::new(program).is_relative() => dir.join(program),
            _ => PathBuf::from(program),
        };
        return is_executable(&path).then_some(path);
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a regular file this user may execute.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Signals a process group, ignoring "no such group" (it already ended).
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Ok(raw) = i32::try_from(pgid)
        && raw > 1
    {
        let _ = killpg(Pid::from_raw(raw), signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_program_searches_path_and_respects_explicit_paths() {
        let path = std::env::var_os("PATH");
        assert!(find_program("sh", path.as_deref(), None).is_some());
        assert!(find_program("/bin/sh", None, None).is_some());
        assert!(find_program("definitely-not-installed-xyz", path.as_deref(), None).is_none());
        // A directory on PATH is not a program.
        assert!(find_program("bin", Some(OsStr::new("/")), None).is_none());
        assert!(find_program("./sh", None, Some(Path::new("/bin"))).is_some());
    }
}
