//! Service mode: the daemon kept running by the OS's own service manager, for a machine that
//! serves its tailnet with nobody logged in at the desk.
//!
//! A [`Definition`] is what `switchboard service install` registers: a systemd user unit on
//! Linux ([`systemd`]), a launchd agent on macOS ([`launchd`]), a logon task of the Task
//! Scheduler on Windows ([`task`]). Each is rendered by a pure function of the OS, an
//! environment lookup and a [`Spec`], so all three are golden-tested on any machine. The
//! manager's own tools (`systemctl`, `launchctl`, `schtasks`) load and start what was written.
//!
//! It owns the definition file and the calls to the manager. It does not know the daemon's
//! API: stopping a daemon that runs outside the service before handing over is the CLI's.

pub mod launchd;
pub mod systemd;
pub mod task;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use switchboard_model::Os;

/// The exit status of `switchboard daemon` when another daemon already holds the data
/// directory. The systemd unit tells systemd not to restart on it; launchd cannot be told,
/// and retries every ten seconds.
pub const ALREADY_RUNNING_EXIT: u8 = 5;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error("cannot find where the service definition goes: {missing} is not set; set it and run again")]
    NoHome { missing: &'static str },
    #[error(
        "{program} is not an absolute path, which a service manager needs; run `service install` from the installed switchboard"
    )]
    Program { program: PathBuf },
    #[error(
        "cannot write the service definition {path}: {source}; check that directory's permissions and free space"
    )]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot remove {path}: {source}; remove it by hand")]
    Remove { path: PathBuf, source: std::io::Error },
    #[error(
        "{tool} is not installed, so this system has no {manager} to run the daemon; run `switchboard daemon` from your own startup scripts instead"
    )]
    NoManager {
        tool: &'static str,
        manager: &'static str,
    },
    #[error("`{command}` failed: {detail}")]
    Manager { command: String, detail: String },
    #[error(
        "`{command}` did not finish within {seconds} s; the service manager may be stuck: try again, or ask it directly"
    )]
    ManagerSlow { command: String, seconds: u64 },
    #[error("{manager} is not reachable here ({detail}); {later}")]
    Unreachable {
        manager: &'static str,
        detail: String,
        later: &'static str,
    },
}

/// What the service runs: `program daemon ARGS...` with these environment variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The absolute path of the `switchboard` binary.
    pub program: PathBuf,
    /// Arguments after `daemon`.
    pub args: Vec<String>,
    /// Variables the daemon needs from the installing shell: `PATH` (so servers find npx, uvx
    /// and docker as they do in a terminal) and Switchboard's own settings.
    pub env: Vec<(String, String)>,
    /// The data directory: where the daemon's log goes when the manager keeps none.
    pub data_dir: PathBuf,
}

/// Variables copied from the installing environment into the service's: the search path
/// and the daemon's settings. Never a secret (`SWITCHBOARD_TOKEN` is a client's).
pub const CARRIED_ENV: [&str; 9] = [
    "PATH",
    "SWITCHBOARD_TAILSCALE_SOCKET",
    "SWITCHBOARD_PORT",
    "SWITCHBOARD_REGISTRY",
    "SWITCHBOARD_SECRETS",
    "SWITCHBOARD_TAILNET_PORT",
    "SWITCHBOARD_RECORD_PAYLOADS",
    "SWITCHBOARD_OAUTH_CLIENT_METADATA_URL",
    "SWITCHBOARD_LOG",
];

impl Spec {
    /// `program daemon args`, carrying [`CARRIED_ENV`] from `env`, with `SWITCHBOARD_HOME`
    /// set to `data_dir`: a service manager's environment is not the shell's, and the daemon
    /// it starts must find the same data.
    pub fn new(
        program: PathBuf,
        args: Vec<String>,
        data_dir: PathBuf,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Self, ServiceError> {
        if !program.is_absolute() {
            return Err(ServiceError::Program { program });
        }
        let mut env: Vec<(String, String)> = CARRIED_ENV
            .iter()
            .filter_map(|key| Some((key.to_string(), env(key)?.into_string().ok()?)))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        env.push(("SWITCHBOARD_HOME".to_owned(), data_dir.display().to_string()));
        Ok(Self {
            program,
            args,
            env,
            data_dir,
        })
    }

    /// The full command line, program first.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.program.display().to_string(), "daemon".to_owned()];
        argv.extend(self.args.iter().cloned());
        argv
    }
}

/// Which service manager runs the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    Systemd,
    Launchd,
    TaskScheduler,
}

/// A service definition: the file `install` writes and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub manager: Manager,
    pub path: PathBuf,
    pub text: String,
    /// Where the daemon's output goes when the manager runs it, for messages.
    pub log: String,
}

impl Definition {
    /// The definition on `os`, its place found through `env`.
    pub fn for_os(os: Os, env: impl Fn(&str) -> Option<OsString>, spec: &Spec) -> Result<Self, ServiceError> {
        let non_empty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = || non_empty("HOME").ok_or(ServiceError::NoHome { missing: "HOME" });
        Ok(match os {
            Os::Linux => Self {
                manager: Manager::Systemd,
                path: non_empty("XDG_CONFIG_HOME")
                    .filter(|p| p.is_absolute())
                    .map_or_else(|| home().map(|h| h.join(".config")), Ok)?
                    .join("systemd/user")
                    .join(systemd::UNIT),
                text: systemd::unit(spec),
                log: format!("journalctl --user -u {}", systemd::UNIT),
            },
            Os::MacOs => Self {
                manager: Manager::Launchd,
                path: home()?
                    .join("Library/LaunchAgents")
                    .join(format!("{}.plist", launchd::LABEL)),
                text: launchd::plist(spec),
                log: launchd::log(spec).display().to_string(),
            },
            Os::Windows => Self {
                manager: Manager::TaskScheduler,
                path: spec.data_dir.join("service-task.xml"),
                text: task::xml(spec, env("USERDOMAIN").as_deref(), env("USERNAME").as_deref()),
                log: format!("the Task Scheduler's history of the {} task", task::NAME),
            },
        })
    }

    /// The definition for this process: its environment, this OS.
    pub fn current(spec: &Spec) -> Result<Self, ServiceError> {
        Self::for_os(Os::current(), |key| std::env::var_os(key), spec)
    }

    /// Whether a definition is in place (this one or another).
    pub fn installed(&self) -> bool {
        self.path.exists()
    }

    /// Puts the definition in place, readable only by its owner (it names the daemon's
    /// settings), and enables it where that is a file of its own (systemd's wants link): it
    /// runs at the next login even if the manager cannot be told now. Says whether anything
    /// changed; nothing does when all is already as it would be written.
    pub fn write(&self) -> Result<bool, ServiceError> {
        let failed = |source| ServiceError::Write {
            path: self.path.clone(),
            source,
        };
        let same = std::fs::read(&self.path).is_ok_and(|bytes| bytes == self.bytes());
        if !same {
            let dir = self.path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(failed)?;
            let temporary = self.path.with_extension("partial");
            write_private(&temporary, &self.bytes()).map_err(failed)?;
            std::fs::rename(&temporary, &self.path).map_err(failed)?;
        }
        let linked = match self.manager {
            Manager::Systemd => systemd::link(&self.path)?,
            Manager::Launchd | Manager::TaskScheduler => false,
        };
        Ok(!same || linked)
    }

    /// Removes the definition (and systemd's wants link); says whether there was one.
    pub fn remove(&self) -> Result<bool, ServiceError> {
        if self.manager == Manager::Systemd {
            systemd::unlink(&self.path)?;
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(ServiceError::Remove {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// The file's bytes: UTF-16 with a byte order mark for the Task Scheduler, which reads
    /// task XML that way, UTF-8 elsewhere.
    pub fn bytes(&self) -> Vec<u8> {
        match self.manager {
            Manager::TaskScheduler => [0xFF, 0xFE]
                .into_iter()
                .chain(self.text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Manager::Systemd | Manager::Launchd => self.text.clone().into_bytes(),
        }
    }

    /// Registers the written definition with the manager and starts the daemon; `changed`:
    /// the definition was just rewritten, so a daemon it runs restarts under the new one.
    pub fn load(&self, changed: bool) -> Result<(), ServiceError> {
        match self.manager {
            Manager::Systemd => systemd::load(changed),
            Manager::Launchd => launchd::load(&self.path, changed),
            Manager::TaskScheduler => task::load(&self.path, changed),
        }
    }

    /// Stops the daemon and unregisters the definition; a definition the manager does not
    /// know is not an error.
    pub fn unload(&self) -> Result<(), ServiceError> {
        match self.manager {
            Manager::Systemd => systemd::unload(),
            Manager::Launchd => launchd::unload(),
            Manager::TaskScheduler => task::unload(),
        }
    }

    /// Starts the installed service's daemon now.
    pub fn start(&self) -> Result<(), ServiceError> {
        match self.manager {
            Manager::Systemd => systemd::start(),
            Manager::Launchd => launchd::start(),
            Manager::TaskScheduler => task::start(),
        }
    }

    /// What the manager says of the service, in its own words.
    pub fn state(&self) -> Result<String, ServiceError> {
        match self.manager {
            Manager::Systemd => systemd::state(),
            Manager::Launchd => launchd::state(),
            Manager::TaskScheduler => task::state(),
        }
    }
}

/// How long a manager's tool may take.
const MANAGER_PATIENCE: Duration = Duration::from_secs(30);

/// Runs a manager's tool; its output on success, its words on failure. A tool that does not
/// finish within [`MANAGER_PATIENCE`] is killed.
fn run(tool: &'static str, manager: &'static str, args: &[&str]) -> Result<String, ServiceError> {
    let output = output_within(tool, args, MANAGER_PATIENCE).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ServiceError::NoManager { tool, manager },
        std::io::ErrorKind::TimedOut => ServiceError::ManagerSlow {
            command: command_line(tool, args),
            seconds: MANAGER_PATIENCE.as_secs(),
        },
        _ => ServiceError::Manager {
            command: command_line(tool, args),
            detail: e.to_string(),
        },
    })?;
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    if output.status.success() {
        return Ok(text(&output.stdout));
    }
    let said = [text(&output.stderr), text(&output.stdout)]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| output.status.to_string());
    Err(ServiceError::Manager {
        command: command_line(tool, args),
        detail: said,
    })
}

/// `tool args`' output, or `TimedOut` (the tool killed) after `patience`. Its output is read
/// on threads of its own, so a chatty tool cannot block on a full pipe.
fn output_within(tool: &str, args: &[&str], patience: Duration) -> std::io::Result<Output> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Writes `bytes` to a new file at `path` that only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// Text as XML character data (the launchd property list and the Windows task).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn command_line(tool: &str, args: &[&str]) -> String {
    std::iter::once(tool)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}
