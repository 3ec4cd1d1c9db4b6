//! Finding the programs that fetch and run packages (node, npm, uv, python, docker, podman,
//! dnx) by absolute path, and `switchboard doctor`'s account of them.
//!
//! A daemon started by a desktop session or launchd does not see the PATH a terminal has: nvm,
//! fnm, volta, asdf, mise and Homebrew add their directories in shell start-up files. So the
//! search reads the login shell's PATH once (interactive, so `.bashrc`/`.zshrc` count), then
//! looks in the directories those managers use by default. Installed servers are then run by
//! absolute path and never depend on PATH again.
//!
//! On Windows the launchers of node and npm are `.cmd` files; they are found through PATHEXT,
//! but an installed server is run as `node.exe` plus its script, never through a `.cmd`.
//! This module finds and reports; which runtime a package needs is the registry crate's.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_model::api::{RuntimeCheck, ShellCheck};
use switchboard_registry::{Runtime, SourceKind};
use switchboard_supervisor::helper::{HelperCommand, HelperError, Helpers};
use switchboard_supervisor::os::is_executable;

/// How long the login shell may take to print its PATH; slow start-up files are common.
const SHELL_TIMEOUT: Duration = Duration::from_secs(5);
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);
/// What a probe prints that is kept: a PATH, a version line.
const PROBE_OUTPUT_CAP: usize = 64 * 1024;
const MARKER: &str = "__switchboard_path__";

/// One runtime, found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub version: Option<String>,
    pub via: String,
}

/// The runtimes on this machine, searched once.
#[derive(Clone, Debug, Default)]
pub struct Runtimes {
    found: BTreeMap<Runtime, Found>,
    shell: Option<ShellCheck>,
}

impl Runtimes {
    /// Searches the daemon's PATH, the login shell's and version managers' directories,
    /// running the login shell and the version probes as `helpers`.
    pub async fn discover(helpers: &Helpers) -> Self {
        let home = home_dir();
        let own_path: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        let shell = login_shell_path(helpers).await;
        let shell_dirs: Vec<PathBuf> = match &shell {
            Ok((_, dirs)) => dirs
                .iter()
                .filter(|dir| !own_path.contains(dir))
                .cloned()
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut places: Vec<(PathBuf, String)> =
            own_path.iter().map(|d| (d.clone(), "PATH".to_owned())).collect();
        places.extend(shell_dirs.iter().map(|d| (d.clone(), "login shell".to_owned())));
        if let Some(home) = &home {
            places.extend(manager_dirs(home));
        }
        places.extend(
            system_dirs()
                .into_iter()
                .map(|dir| (dir, "system directory".to_owned())),
        );

        let mut found = BTreeMap::new();
        for runtime in Runtime::ALL {
            let hit = places.iter().find_map(|(dir, via)| {
                program_names(runtime)
                    .iter()
                    .find_map(|name| executable_in(dir, name))
                    .map(|path| (path, via.clone()))
            });
            if let Some((path, via)) = hit {
                found.insert(
                    runtime,
                    Found {
                        version: None,
                        path,
                        via,
                    },
                );
            }
        }
        let versions = futures_util::future::join_all(
            found
                .iter()
                .map(|(runtime, found)| version_of(helpers, *runtime, found.path.clone())),
        )
        .await;
        for ((_, found), version) in found.iter_mut().zip(versions) {
            found.version = version;
        }
        let shell = Some(match shell {
            Ok((shell, _)) => ShellCheck {
                shell: Some(shell),
                added_dirs: shell_dirs.iter().map(|d| d.display().to_string()).collect(),
                error: None,
            },
            Err((shell, error)) => ShellCheck {
                shell,
                added_dirs: Vec::new(),
                error: Some(error),
            },
        });
        Self { found, shell }
    }

    pub fn get(&self, runtime: Runtime) -> Option<&Found> {
        self.found.get(&runtime)
    }

    pub fn has(&self, runtime: Runtime) -> bool {
        self.found.contains_key(&runtime)
    }

    /// The first of `runtimes` that was found.
    pub fn first_of(&self, runtimes: &[Runtime]) -> Option<(Runtime, &Found)> {
        runtimes
            .iter()
            .find_map(|r| self.get(*r).map(|found| (*r, found)))
    }

    /// Every runtime, found or with what to do about it.
    pub fn checks(&self) -> Vec<RuntimeCheck> {
        let kinds = [
            SourceKind::Npm,
            SourceKind::Pypi,
            SourceKind::Oci,
            SourceKind::Nuget,
        ];
        Runtime::ALL
            .iter()
            .map(|runtime| {
                let mut needed_by: Vec<String> = kinds
                    .iter()
                    .filter(|kind| kind.needs().contains(runtime))
                    .map(|kind| kind.to_string())
                    .collect();
                if matches!(runtime, Runtime::Npm) {
                    needed_by.push("npm (to fetch)".to_owned());
                }
                if matches!(runtime, Runtime::Node | Runtime::Python | Runtime::Uv) {
                    needed_by.push("mcpb (by its manifest)".to_owned());
                }
                let found = self.get(*runtime);
                RuntimeCheck {
                    runtime: runtime.to_string(),
                    path: found.map(|f| f.path.display().to_string()),
                    version: found.and_then(|f| f.version.clone()),
                    found_via: found.map(|f| f.via.clone()),
                    needed_by,
                    fix: found.is_none().then(|| runtime.install_hint().to_owned()),
                }
            })
            .collect()
    }

    pub fn shell(&self) -> ShellCheck {
        self.shell.clone().unwrap_or(ShellCheck {
            shell: None,
            added_dirs: Vec::new(),
            error: Some("not read yet".to_owned()),
        })
    }
}

fn home_dir() -> Option<PathBuf> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var)
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
}

fn program_names(runtime: Runtime) -> &'static [&'static str] {
    match runtime {
        Runtime::Python => &["python3", "python"],
        Runtime::Node => &["node"],
        Runtime::Npm => &["npm"],
        Runtime::Uv => &["uv"],
        Runtime::Docker => &["docker"],
        Runtime::Podman => &["podman"],
        Runtime::Dnx => &["dnx"],
    }
}

/// `dir/name` if it is an executable file; on Windows with each PATHEXT extension.
fn executable_in(dir: &Path, name: &str) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = if cfg!(windows) {
        let extensions = std::env::var("PATHEXT").unwrap_or_else(|_| ".EXE;.CMD;.BAT".to_owned());
        extensions
            .split(';')
            .filter(|ext| !ext.is_empty())
            .map(|ext| dir.join(format!("{name}{}", ext.to_ascii_lowercase())))
            .collect()
    } else {
        vec![dir.join(name)]
    };
    candidates.into_iter().find(|path| is_executable(path))
}

/// Default directories of version managers and per-user installs, newest node first.
fn manager_dirs(home: &Path) -> Vec<(PathBuf, String)> {
    let mut dirs = Vec::new();
    let mut add = |path: PathBuf, via: &str| dirs.push((path, via.to_owned()));
    add(home.join(".volta/bin"), "volta");
    add(home.join(".local/share/mise/shims"), "mise");
    add(home.join(".asdf/shims"), "asdf");
    for root in [
        home.join(".local/share/fnm"),
        home.join(".fnm"),
        home.join("Library/Application Support/fnm"),
    ] {
        add(root.join("aliases/default/bin"), "fnm");
    }
    if let Some(newest) = newest_child(&home.join(".nvm/versions/node")) {
        add(newest.join("bin"), "nvm");
    }
    add(home.join(".local/bin"), "~/.local/bin");
    add(home.join(".cargo/bin"), "~/.cargo/bin");
    add(home.join(".pyenv/shims"), "pyenv");
    add(home.join(".dotnet/tools"), "~/.dotnet/tools");
    add(home.join(".dotnet"), "~/.dotnet");
    if cfg!(windows)
        && let Some(appdata) = std::env::var_os("APPDATA")
    {
        add(PathBuf::from(appdata).join("npm"), "%APPDATA%\\npm");
    }
    dirs
}

fn system_dirs() -> Vec<PathBuf> {
    if cfg!(windows) {
        ["ProgramFiles", "ProgramFiles(x86)"]
            .iter()
            .filter_map(std::env::var_os)
            .flat_map(|root| {
                let root = PathBuf::from(root);
                [
                    root.join("nodejs"),
                    root.join("dotnet"),
                    root.join("Docker/Docker/resources/bin"),
                ]
            })
            .collect()
    } else {
        [
            "/opt/homebrew/bin",
            "/usr/local/bin",
            "/home/linuxbrew/.linuxbrew/bin",
            "/usr/bin",
            "/usr/local/share/dotnet",
            "/Applications/Docker.app/Contents/Resources/bin",
        ]
        .iter()
        .map(PathBuf::from)
        .collect()
    }
}

/// The child directory whose name is the highest version (`v22.11.0` beats `v20.18.1`).
fn newest_child(dir: &Path) -> Option<PathBuf> {
    let key = |name: &str| -> Vec<u64> {
        name.trim_start_matches('v')
            .split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .max_by_key(|entry| key(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
}

/// The login shell's PATH, read by running it interactively once with a marker around it.
async fn login_shell_path(helpers: &Helpers) -> Result<(String, Vec<PathBuf>), (Option<String>, String)> {
    if cfg!(windows) {
        return Err((
            None,
            "Windows has no login shell; PATH comes from the registry".to_owned(),
        ));
    }
    let shell = std::env::var_os("SHELL")
        .filter(|shell| !shell.is_empty())
        .unwrap_or_else(|| OsString::from("/bin/sh"));
    shell_path_of(helpers, &shell, SHELL_TIMEOUT).await
}

/// Runs `shell` as an interactive login shell, detached from any terminal (zsh opens
/// `/dev/tty` when interactive), for at most `timeout`, and reads the PATH it prints.
async fn shell_path_of(
    helpers: &Helpers,
    shell: &OsStr,
    timeout: Duration,
) -> Result<(String, Vec<PathBuf>), (Option<String>, String)> {
    let shown = shell.to_string_lossy().into_owned();
    let mut command = HelperCommand::new(shell);
    command
        .args(["-i", "-l", "-c"])
        .arg(format!("printf '{MARKER}%s{MARKER}' \"$PATH\""))
        .deadline(timeout)
        .output_cap(PROBE_OUTPUT_CAP);
    let output = match helpers.run(&command).await {
        Ok(output) => output,
        Err(HelperError::TimedOut { .. }) => {
            return Err((
                Some(shown),
                format!("it took over {timeout:?} to start; its start-up files may wait for input"),
            ));
        }
        Err(error) => return Err((Some(shown), format!("cannot run it: {error}"))),
    };
    let text = output.stdout.text();
    let path = text
        .split(MARKER)
        .nth(1)
        .ok_or_else(|| (Some(shown.clone()), "it did not print its PATH".to_owned()))?;
    Ok((shown, std::env::split_paths(path).collect()))
}

async fn version_of(helpers: &Helpers, runtime: Runtime, path: PathBuf) -> Option<String> {
    let mut command = HelperCommand::new(&path);
    command
        .arg("--version")
        .deadline(VERSION_TIMEOUT)
        .output_cap(PROBE_OUTPUT_CAP);
    // npm is a node script: it needs node on its PATH.
    if let Some(dir) = path.parent() {
        command.env("PATH", prepend_path(dir));
    }
    let output = helpers.run(&command).await.ok()?;
    let text = if output.stdout.text().is_empty() {
        output.stderr.text()
    } else {
        output.stdout.text()
    };
    let line = text.lines().next()?.trim().to_owned();
    let version = match runtime {
        // "Python 3.11.2", "uv 0.9.1", "Docker version 27.1.1, build 6312585"
        Runtime::Python | Runtime::Uv => line.split_whitespace().nth(1).map(str::to_owned),
        Runtime::Docker | Runtime::Podman => line
            .split_whitespace()
            .nth(2)
            .map(|v| v.trim_end_matches(',').to_owned()),
        _ => Some(line.trim_start_matches('v').to_owned()),
    };
    version.filter(|v| !v.is_empty())
}

/// `dir` followed by the daemon's PATH: for running a runtime whose siblings it calls.
pub fn prepend_path(dir: &Path) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![dir.to_path_buf()];
    paths.extend(std::env::split_paths(&rest));
    std::env::join_paths(paths).unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_node_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        for version in ["v18.20.4", "v22.11.0", "v20.18.1", "v9.0.0"] {
            std::fs::create_dir(dir.path().join(version)).expect("mkdir");
        }
        assert_eq!(newest_child(dir.path()), Some(dir.path().join("v22.11.0")));
    }

    /// A login shell whose start-up files hang, with a child of their own: both are ended
    /// at the deadline, and the shell ran in a session of its own (no terminal to grab).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_hanging_login_shell_is_ended_with_its_children_and_holds_no_terminal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (shell, record) = (dir.path().join("shell"), dir.path().join("record"));
        let script = format!(
            "#!/bin/sh\nsleep 600 &\necho \"$$ $! $(cut -d' ' -f6 /proc/$$/stat)\" > {0}.tmp\nmv {0}.tmp {0}\nwait\n",
            record.display()
        );
        std::fs::write(&shell, script).expect("write");
        std::fs::set_permissions(&shell, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        let error = shell_path_of(
            &Helpers::unwatched(),
            shell.as_os_str(),
            Duration::from_millis(500),
        )
        .await
        .expect_err("times out");
        assert!(error.1.contains("took over"), "{error:?}");
        let text = std::fs::read_to_string(&record).expect("the shell ran");
        let [shell_pid, child, session] = text.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("{text}");
        };
        assert_eq!(
            session, shell_pid,
            "the shell is not the leader of its own session"
        );
        let running = |pid: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while running(shell_pid) || running(child) {
            assert!(
                std::time::Instant::now() < deadline,
                "{shell_pid} or its child {child} still runs"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn finds_node_with_its_version() {
        let runtimes = Runtimes::discover(&Helpers::unwatched()).await;
        let node = runtimes
            .get(Runtime::Node)
            .expect("node is on this machine's PATH");
        assert!(node.path.is_absolute());
        assert!(
            node.version
                .as_deref()
                .is_some_and(|v| v.starts_with(char::is_numeric)),
            "{node:?}"
        );
        assert!(
            runtimes
                .checks()
                .iter()
                .any(|c| c.runtime == "dnx" && c.fix.is_some())
                || runtimes.has(Runtime::Dnx)
        );
    }
}
