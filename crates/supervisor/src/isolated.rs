//! Processes of a stdio server that belong to one client session (`sharing: per-session`).
//!
//! An [`Isolated`] is a private copy of a supervised server: spawned from the spec its actor
//! currently applies, handshaken like a supervised run, its stderr in the server's log and its
//! process group under the watchdog. It lives exactly as long as the value: dropping it closes
//! the server's stdin and stops its process group. It is never restarted; the gateway starts a
//! new one when a session's process has died.
//!
//! It does not decide when a session needs one (the gateway does) and keeps no run history:
//! the server's state and runs are those of its supervised process. The same machinery
//! health-checks a candidate spec (a new version) before an update switches to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use switchboard_mcp::jsonrpc::Frame;
use switchboard_mcp::upstream::{RpcError, Upstream, link};
use switchboard_model::api::LogStream;
use switchboard_model::{Launch, ServerName, ServerSpec, Sharing, Transport};
use tokio::sync::broadcast;

use super::launch::spawn_watched;
use super::process::ServerProcess;
use super::{Shared, Supervisor, mcp};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IsolatedError {
    #[error("no server named {0} is supervised; `switchboard ls` lists them")]
    Unknown(ServerName),
    #[error("server {0} is shared by its sessions; it has no per-session processes")]
    Shared(ServerName),
    #[error("server {0} is not a stdio server, so it cannot be run beside its supervised process")]
    NotStdio(ServerName),
    #[error("cannot start a process of {server}: {reason}")]
    Spawn { server: ServerName, reason: String },
    #[error("the process of {server} did not complete its handshake: {source}")]
    Handshake {
        server: ServerName,
        #[source]
        source: RpcError,
    },
    #[error("the process of {server} took over {after:?} to answer; raise its startup timeout")]
    Timeout { server: ServerName, after: Duration },
    #[error(
        "server {server} already runs {max} processes for its sessions, its limit; end a client \
         session, or raise it with `switchboard mode {server} --max-processes N`"
    )]
    Limit { server: ServerName, max: u32 },
}

/// One session's own process of a server, and the connection to it.
#[derive(Debug)]
pub struct Isolated {
    upstream: Arc<Upstream>,
    notices: broadcast::Sender<Frame>,
    process: Option<ServerProcess>,
    shared: Arc<Shared>,
    /// Its place among its server's per-session processes, given back when it ends.
    counted: Option<Arc<AtomicU32>>,
}

impl Isolated {
    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// Notifications this process sends outside any request.
    pub fn notices(&self) -> broadcast::Receiver<Frame> {
        self.notices.subscribe()
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }
}

impl Drop for Isolated {
    fn drop(&mut self) {
        if let Some(count) = self.counted.take() {
            count.fetch_sub(1, Ordering::AcqRel);
        }
        self.upstream.shutdown();
        if let Some(process) = self.process.take() {
            let shared = Arc::clone(&self.shared);
            let pgid = process.pgid();
            // Stopping waits out a grace period; the session that dropped this does not.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    process.stop(shared.config.stop_grace).await;
                    shared.unwatch(pgid);
                });
            } else {
                process.kill_group();
            }
        }
    }
}

impl Supervisor {
    /// Starts a private process of `name` for one session and completes its handshake.
    pub async fn start_isolated(&self, name: &ServerName) -> Result<Isolated, IsolatedError> {
        let spec = self
            .spec(name)
            .ok_or_else(|| IsolatedError::Unknown(name.clone()))?;
        match (&spec.transport, spec.sharing) {
            (Transport::Stdio(launch), Sharing::PerSession) => {
                let count = self.count_isolated(&spec)?;
                match self.open(&spec, launch, "for one session").await {
                    Ok((mut isolated, _)) => {
                        isolated.counted = Some(count);
                        Ok(isolated)
                    }
                    Err(e) => {
                        count.fetch_sub(1, Ordering::AcqRel);
                        Err(e)
                    }
                }
            }
            _ => Err(IsolatedError::Shared(name.clone())),
        }
    }

    /// Takes a place among `spec`'s per-session processes, if it has one left; the
    /// [`Isolated`] that gets it gives it back (an `open` that fails, at once).
    fn count_isolated(&self, spec: &ServerSpec) -> Result<Arc<AtomicU32>, IsolatedError> {
        let count = self
            .servers()
            .get(&spec.name)
            .map(|h| Arc::clone(&h.isolated))
            .ok_or_else(|| IsolatedError::Unknown(spec.name.clone()))?;
        let max = spec.start.max_processes;
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| IsolatedError::Limit {
                server: spec.name.clone(),
                max,
            })?;
        Ok(count)
    }

    /// Runs `spec` (a candidate for supervised server `name`, such as a new version) once
    /// beside the running process: spawn, handshake and tools/list, then stop. Returns the
    /// number of tools it listed.
    pub async fn probe(&self, spec: &ServerSpec) -> Result<u32, IsolatedError> {
        let Transport::Stdio(launch) = &spec.transport else {
            return Err(IsolatedError::NotStdio(spec.name.clone()));
        };
        let (_isolated, handshake) = self.open(spec, launch, "as a health check").await?;
        Ok(handshake.tools)
    }

    async fn open(
        &self,
        spec: &ServerSpec,
        launch: &Launch,
        purpose: &str,
    ) -> Result<(Isolated, mcp::Handshake), IsolatedError> {
        let name = &spec.name;
        let after = Duration::from_millis(spec.health.startup_timeout_ms);
        let _turn = self.shared.start_turn().await;
        let log = self
            .log(name)
            .ok_or_else(|| IsolatedError::Unknown(name.clone()))?;
        let spawned = spawn_watched(&self.shared, launch, &log)
            .await
            .map_err(|reason| IsolatedError::Spawn {
                server: name.clone(),
                reason: reason.to_string(),
            })?;
        log.push(
            LogStream::Supervisor,
            format!("started pid {} {purpose}", spawned.process.pid()),
        );
        let (process, stdin, stdout) = (spawned.process, spawned.stdin, spawned.stdout);
        let (out, incoming) = link::stdio(stdin, stdout, log);
        let (notices, _) = broadcast::channel(256);
        let isolated = Isolated {
            upstream: Upstream::start(name.clone(), out, incoming, notices.clone()),
            notices,
            process: Some(process),
            shared: Arc::clone(&self.shared),
            counted: None,
        };
        match tokio::time::timeout(
            after,
            mcp::handshake(&isolated.upstream, spec.protocol(), after * 2),
        )
        .await
        {
            Ok(Ok(handshake)) => Ok((isolated, handshake)),
            Ok(Err(source)) => Err(IsolatedError::Handshake {
                server: name.clone(),
                source,
            }),
            Err(_) => Err(IsolatedError::Timeout {
                server: name.clone(),
                after,
            }),
        }
    }
}
