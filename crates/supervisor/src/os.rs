//! The few operating-system helpers several rooms share: finding a program as a shell would,
//! and ending a process group.
//!
//! Spawning is not here: [`crate::process`] is the one place that starts
//! processes. This module only answers questions about programs and sends signals (on
//! Windows, console events and job terminations: [`crate::windows`]).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

#[cfg(unix)]
use nix::sys::signal::{Signal, killpg};
#[cfg(unix)]
use nix::unistd::Pid;

/// How a process group is told to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// SIGTERM; on Windows `CTRL_BREAK_EVENT`.
    Ask,
    /// SIGKILL; on Windows the group's job is terminated.
    Force,
}

/// Finds `program` the way a shell would: a path containing `/` is taken as is (relative to
/// `cwd`), a bare name is searched in `path_var`. Only executable regular files count. On
/// Windows a name without one of `PATHEXT`'s extensions is also tried with each of them, so
/// `npx` finds `npx.cmd`.
pub fn find_program(program: &str, path_var: Option<&OsStr>, cwd: Option<&Path>) -> Option<PathBuf> {
    if program.contains(std::path::MAIN_SEPARATOR) || program.contains('/') {
        let path = match cwd {
            Some(dir) if Path::new(program).is_relative() => dir.join(program),
            _ => PathBuf::from(program),
        };
        return executable_at(path);
    }
    std::env::split_paths(path_var?)
        .flat_map(|dir| with_extensions(dir.join(program)))
        .find(|candidate| is_executable(candidate))
}

/// `path` if it is an executable file; on Windows also `path` with one of `PATHEXT`'s
/// extensions appended.
pub fn executable_at(path: PathBuf) -> Option<PathBuf> {
    with_extensions(path).find(|candidate| is_executable(candidate))
}

/// `path` itself, and on Windows `path` with each extension of `PATHEXT` appended.
fn with_extensions(path: PathBuf) -> impl Iterator<Item = PathBuf> {
    #[cfg(windows)]
    let extended = appended(&path, &executable_extensions());
    #[cfg(not(windows))]
    let extended: Vec<PathBuf> = Vec::new();
    std::iter::once(path).chain(extended)
}

/// The extensions Windows runs a file by: `PATHEXT`, or its default.
#[cfg(windows)]
fn executable_extensions() -> Vec<String> {
    parse_pathext(std::env::var("PATHEXT").ok().as_deref())
}

/// `PATHEXT`'s extensions, lowercase with their dot (its default when unset or empty).
#[cfg(any(windows, test))]
fn parse_pathext(pathext: Option<&str>) -> Vec<String> {
    let extensions: Vec<String> = pathext
        .unwrap_or_default()
        .split(';')
        .filter(|ext| ext.starts_with('.') && ext.len() > 1)
        .map(str::to_ascii_lowercase)
        .collect();
    if extensions.is_empty() {
        return parse_pathext(Some(".COM;.EXE;.BAT;.CMD"));
    }
    extensions
}

/// `path` with each of `extensions` appended (`npx` → `npx.com`, …, `npx.cmd`).
#[cfg(any(windows, test))]
fn appended(path: &Path, extensions: &[String]) -> Vec<PathBuf> {
    extensions
        .iter()
        .map(|ext| {
            let mut name = path.as_os_str().to_owned();
            name.push(ext);
            PathBuf::from(name)
        })
        .collect()
}

/// Whether Windows would run `path` by its extension: the `npx` shell script npm installs
/// beside `npx.cmd` is a file, but not a program there.
#[cfg(any(windows, test))]
fn runs_by_extension(path: &Path, extensions: &[String]) -> bool {
    path.extension().is_some_and(|ext| {
        let ext = format!(".{}", ext.to_string_lossy().to_ascii_lowercase());
        extensions.contains(&ext)
    })
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
    #[cfg(windows)]
    {
        meta.is_file() && runs_by_extension(path, &executable_extensions())
    }
    #[cfg(not(any(unix, windows)))]
    {
        meta.is_file()
    }
}

/// Ends a process group, ignoring "no such group" (it already ended).
pub fn end_group(pgid: u32, how: End) {
    #[cfg(unix)]
    signal_group(
        pgid,
        match how {
            End::Ask => Signal::SIGTERM,
            End::Force => Signal::SIGKILL,
        },
    );
    #[cfg(windows)]
    match how {
        End::Ask => {
            crate::windows::ask_to_end(pgid);
        }
        End::Force => crate::windows::end_now(pgid),
    }
}

/// Whether any process of the group `pgid` (on Windows: its leader) still runs.
pub fn group_alive(pgid: u32) -> bool {
    #[cfg(unix)]
    return i32::try_from(pgid).is_ok_and(|raw| killpg(Pid::from_raw(raw), None::<Signal>).is_ok());
    #[cfg(windows)]
    return crate::windows::alive(pgid);
}

/// Signals a process group, ignoring "no such group" (it already ended).
#[cfg(unix)]
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

    #[test]
    fn windows_programs_are_found_by_their_pathext_extension() {
        let extensions = parse_pathext(Some(".COM;.EXE;.BAT;.CMD;.VBS;.JS"));
        assert_eq!(extensions[3], ".cmd");
        assert_eq!(parse_pathext(None), parse_pathext(Some(";")));
        assert_eq!(parse_pathext(None), [".com", ".exe", ".bat", ".cmd"]);
        let candidates = appended(Path::new("nodejs/npx"), &parse_pathext(None));
        assert_eq!(candidates[3], Path::new("nodejs/npx.cmd"));
        assert!(runs_by_extension(Path::new("nodejs/npx.CMD"), &extensions));
        assert!(!runs_by_extension(Path::new("nodejs/npx"), &extensions));
        assert!(!runs_by_extension(Path::new("nodejs/npx.ps1"), &extensions));
    }
}
