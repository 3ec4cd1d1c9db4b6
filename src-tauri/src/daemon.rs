//! Finding the daemon, or starting the `switchboard` binary the app ships beside itself.
//!
//! A daemon made a service (`switchboard service install`) is started by the OS's service
//! manager instead, so the app never starts a second one beside it.
//!
//! The daemon is started in a process group of its own and outlives the app: quitting the app
//! leaves the servers running (decision 1). Its output goes to `app-daemon.log` in the data
//! directory, which is what an error shows when it does not come up.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_client::{CliError, Client};
use switchboard_local::service::{Definition, Spec};
use switchboard_model::api::DaemonStatus;

/// How long a starting daemon may take to answer.
const START_PATIENCE: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("cannot find Switchboard's data directory: {0}")]
    DataDir(String),
    #[error(
        "the switchboard program is not beside the app at {path}; reinstall Switchboard, or start the daemon yourself with `switchboard daemon`"
    )]
    NoDaemonProgram { path: PathBuf },
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("the Switchboard daemon exited while starting ({status}); its log, {log}, ends with:\n{tail}")]
    Exited {
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error("the Switchboard daemon did not answer within {seconds} s; see {log}")]
    Slow { seconds: u64, log: String },
    #[error(transparent)]
    Api(#[from] CliError),
}

/// Where the daemon lives and how to start it.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The `switchboard` binary.
    pub program: PathBuf,
    pub home: PathBuf,
    /// The port a started daemon listens on (0: any free one) and where to look for one
    /// before `daemon.json` exists.
    pub port: u16,
}

impl Launch {
    /// The binary beside this executable, the data directory and port of this environment.
    pub fn from_env() -> Result<Self, AppError> {
        let exe = std::env::current_exe().map_err(|e| AppError::DataDir(e.to_string()))?;
        let home = switchboard_local::paths::data_dir().map_err(|e| AppError::DataDir(e.to_string()))?;
        let port = std::env::var("SWITCHBOARD_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(switchboard_model::DEFAULT_PORT);
        Ok(Self {
            program: exe.with_file_name(format!("switchboard{}", std::env::consts::EXE_SUFFIX)),
            home,
            port,
        })
    }

    /// A client of the daemon if one answers now.
    pub async fn attach(&self) -> Option<Client> {
        let client = Client::connect(self.home.clone(), self.port).ok()?;
        client.get::<DaemonStatus>("/status").await.ok().map(|_| client)
    }

    /// The running daemon, or a new one started from [`Launch::program`].
    pub async fn attach_or_start(&self) -> Result<Client, AppError> {
        if let Some(client) = self.attach().await {
            return Ok(client);
        }
        let launch = self.clone();
        let service_log = tokio::task::spawn_blocking(move || launch.start_service())
            .await
            .ok()
            .flatten();
        let mut child = match service_log {
            Some(_) => None,
            None => Some(self.spawn()?),
        };
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            if let Some(client) = self.attach().await {
                return Ok(client);
            }
            if let Some(Ok(Some(status))) = child.as_mut().map(Child::try_wait) {
                // Another app instance may have won the race to start it.
                if let Some(client) = self.attach().await {
                    return Ok(client);
                }
                return Err(AppError::Exited {
                    status,
                    log: self.log(),
                    tail: tail(&self.log()),
                });
            }
            if Instant::now() > deadline {
                return Err(AppError::Slow {
                    seconds: START_PATIENCE.as_secs(),
                    log: service_log.unwrap_or_else(|| self.log().display().to_string()),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks the OS's service manager to start the daemon, if `switchboard service install`
    /// made it a service: a daemon the app started itself would hold the data directory the
    /// service's needs. Where the service's output goes, or None (start the sidecar) if there
    /// is no service or it cannot start. Blocks on the manager's tool, for at most its
    /// deadline.
    fn start_service(&self) -> Option<String> {
        let spec = Spec::new(self.program.clone(), Vec::new(), self.home.clone(), |key| {
            std::env::var_os(key)
        });
        let definition = spec.and_then(|spec| Definition::current(&spec)).ok()?;
        if !definition.installed() {
            return None;
        }
        match definition.start() {
            Ok(()) => {
                tracing::info!("started the daemon's service ({})", definition.path.display());
                Some(definition.log)
            }
            Err(e) => {
                tracing::warn!(
                    "the daemon's service did not start ({e}); starting the daemon beside the app"
                );
                None
            }
        }
    }

    fn spawn(&self) -> Result<Child, AppError> {
        if !self.program.is_file() {
            return Err(AppError::NoDaemonProgram {
                path: self.program.clone(),
            });
        }
        let spawn_error = |source| AppError::Spawn {
            program: self.program.clone(),
            source,
        };
        std::fs::create_dir_all(&self.home).map_err(spawn_error)?;
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.log())
            .map_err(spawn_error)?;
        let mut command = Command::new(&self.program);
        command
            .arg("daemon")
            .arg("--port")
            .arg(self.port.to_string())
            .env("SWITCHBOARD_HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(spawn_error)?)
            .stderr(log);
        crate::gl::as_the_person_had(&mut command);
        // Its own process group: a signal to the app's group (a terminal's Ctrl-C) spares it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        // On Windows a console process group of its own, and a console without a window: the
        // daemon's servers share it, so a stop can reach them with Ctrl-Break.
        #[cfg(windows)]
        std::os::windows::process::CommandExt::creation_flags(
            &mut command,
            CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW,
        );
        command.spawn().map_err(spawn_error)
    }

    fn log(&self) -> PathBuf {
        self.home.join("app-daemon.log")
    }
}

/// `CreateProcess` flags (winbase.h): a new console process group.
#[cfg(windows)]
const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
/// `CreateProcess` flags (winbase.h): a console that has no window.
#[cfg(windows)]
const CREATE_NO_WINDOW: u32 = 0x0800_0000;

/// The last lines of a log, for an error message.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}
