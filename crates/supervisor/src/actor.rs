//! One task per server: the restart *mechanism* around the restart *policy*.
//!
//! An [`Actor`] owns its server's lifecycle: it spawns (through [`process`]), does the MCP
//! handshake (through [`mcp`]), watches the process and its health pings, obeys commands, and
//! after every end asks [`policy::decide`] what to do. It is the only writer of its server's
//! [`ServerState`]. It knows nothing of HTTP or of other servers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use switchboard_credentials::oauth::ServerLogin;
use switchboard_mcp::jsonrpc::{Frame, code};
use switchboard_mcp::logs::ServerLog;
use switchboard_mcp::upstream::{RpcError, Upstream, link};
use switchboard_model::api::{Event, LogStream};
use switchboard_model::{ExitCause, FailureReason, Launch, ServerSpec, ServerState, Transport, now_millis};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod health;
mod sleeping;

use health::{fired_late, health};
use sleeping::idle_check_interval;

use super::Shared;
use super::launch::{forward_lines, header_map, spawn_watched};
use super::mcp;
use super::policy::{self, Decision, Exit};
use super::process::ServerProcess;

/// Stderr lines kept as the reason a run failed.
const STDERR_TAIL_LINES: usize = 20;

/// Sent once the actor has acted on a command, so the state it set is visible from then on:
/// `starting` after a start, `stopped` after a stop.
pub type Ack = oneshot::Sender<()>;

/// What the rest of the daemon can ask of a server.
#[derive(Debug)]
pub enum Command {
    /// Run it now (a sleeping server wakes).
    Start(Ack),
    /// Bring it up as its start mode says (the daemon's start, resume, enable, add): an
    /// on-demand server whose lists are kept goes to sleep, woken by
    /// [`super::Supervisor::wake`]; any other runs.
    Arm(Ack),
    /// Stop and stay stopped.
    Stop(Ack),
    Restart(Ack),
    /// Use this spec from now on, restarting if it is running.
    Replace(Box<ServerSpec>, Ack),
    /// Stop and end the actor (server removed, or daemon shutting down).
    Shutdown(Ack),
}

fn acknowledge(ack: Option<Ack>) {
    if let Some(ack) = ack {
        let _ = ack.send(());
    }
}

pub(super) struct Actor {
    pub spec: ServerSpec,
    pub shared: Arc<Shared>,
    pub commands: mpsc::Receiver<Command>,
    pub state: watch::Sender<ServerState>,
    pub log: Arc<ServerLog>,
    pub restarts: Arc<AtomicU32>,
    pub starts: Arc<AtomicU32>,
    pub history: RestartLog,
    /// The running server's connection, for the gateway; `None` unless running.
    pub upstream: watch::Sender<Option<Arc<Upstream>>>,
    /// Where each run's upstream sends notifications that belong to no request.
    pub notices: tokio::sync::broadcast::Sender<Frame>,
    /// The spec in force, for those who start processes of this server outside its runs.
    pub published: watch::Sender<ServerSpec>,
    /// Rung by a request that needs a sleeping server's process.
    pub wake: Arc<Notify>,
    pub wakes: Arc<AtomicU32>,
    /// Whether its lists were found kept (so it can sleep and still be listed).
    pub lists_kept: bool,
}

/// Restarts made since the server was last stable, for [`policy::decide`].
#[derive(Debug, Default)]
pub(super) struct RestartLog {
    attempts: u32,
    at: VecDeque<Instant>,
}

impl RestartLog {
    fn view(&mut self, now: Instant, window: Duration) -> policy::History {
        self.at.retain(|t| now.duration_since(*t) < window);
        policy::History {
            attempts: self.attempts,
            recent: self.at.iter().map(|t| now.duration_since(*t)).collect(),
        }
    }
}

enum Next {
    Idle,
    Sleep,
    Launch { restart: bool, ack: Option<Ack> },
    Wait { until: Instant },
    Exit,
}

/// How one run ended.
enum RunEnd {
    /// It could not be started; trying again as configured will not help.
    Unstartable(FailureReason),
    /// It ended without being asked to (including failed startups and health checks).
    Ended {
        reason: FailureReason,
        exit: Exit,
        lasted: Duration,
    },
    Asked(Interrupt),
}

/// A command that ends a run.
enum Interrupt {
    Stop(Option<Ack>),
    Restart(Option<Ack>),
    Shutdown(Option<Ack>),
    /// An on-demand server that went unused for its idle time.
    Sleep,
}

/// A spawned process and what the actor tracks of this run.
struct Run {
    process: Option<ServerProcess>,
    id: Option<i64>,
    started: Instant,
    stderr_from: u64,
    stderr_task: Option<JoinHandle<()>>,
    /// A local HTTP server's stdin, kept open so it does not see EOF and exit.
    stdin: Option<ChildStdin>,
    /// This run's connection, shut when the run ends so no client waits on a dead server.
    peer: Option<Arc<Upstream>>,
}

impl Actor {
    pub async fn run(mut self) {
        let mut next = Next::Idle;
        loop {
            next = match next {
                Next::Idle => self.idle().await,
                Next::Sleep => self.sleep().await,
                Next::Launch { restart, ack } => {
                    let end = self.run_once(restart, ack).await;
                    self.after(end).await
                }
                Next::Wait { until } => self.wait(until).await,
                Next::Exit => return,
            };
        }
    }

    fn set(&self, status: ServerState) {
        self.state.send_replace(status.clone());
        let _ = self.shared.events.send(Event::StateChanged {
            name: self.spec.name.clone(),
            at_ms: now_millis(),
            status,
        });
    }

    /// Restarted too often and left down: only the user, or a change of the world around it,
    /// tries it again.
    fn gave_up(&self) -> bool {
        matches!(*self.state.borrow(), ServerState::CrashLooping { .. })
    }

    fn adopt(&mut self, spec: ServerSpec) {
        self.published.send_replace(spec.clone());
        self.spec = spec;
    }

    fn note(&self, line: String) {
        self.log.push(LogStream::Supervisor, line);
    }

    async fn idle(&mut self) -> Next {
        // One subscription for as long as it stays idle, so no catch-up is missed between
        // commands.
        let mut catch_up = self.shared.catch_up.subscribe();
        loop {
            // One that gave up may have failed for want of a network, or as the machine slept.
            let gave_up = self.gave_up();
            let command = tokio::select! {
                command = self.commands.recv() => command,
                _ = catch_up.changed(), if gave_up => {
                    self.note("the machine woke or its network changed: trying again".to_owned());
                    self.history = RestartLog::default();
                    return Next::Launch { restart: true, ack: None };
                }
            };
            let next = match command {
                Some(Command::Arm(ack)) if self.may_sleep().await => {
                    self.fall_asleep().await;
                    let _ = ack.send(());
                    Next::Sleep
                }
                command => self.obey(command, Next::Idle),
            };
            if !matches!(next, Next::Idle) {
                return next;
            }
        }
    }

    /// What a command means while no process runs (idle, backing off, asleep): `stay` is where
    /// one that changes nothing now (a new spec) leaves the server.
    fn obey(&mut self, command: Option<Command>, stay: Next) -> Next {
        match command {
            Some(Command::Start(ack) | Command::Arm(ack) | Command::Restart(ack)) => {
                self.history = RestartLog::default();
                Next::Launch {
                    restart: false,
                    ack: Some(ack),
                }
            }
            Some(Command::Stop(ack)) => {
                self.set(ServerState::Stopped);
                let _ = ack.send(());
                Next::Idle
            }
            Some(Command::Replace(spec, ack)) => {
                self.adopt(*spec);
                let _ = ack.send(());
                stay
            }
            Some(Command::Shutdown(ack)) => {
                let _ = ack.send(());
                Next::Exit
            }
            None => Next::Exit,
        }
    }

    async fn wait(&mut self, until: Instant) -> Next {
        let mut catch_up = self.shared.catch_up.subscribe();
        loop {
            let next = tokio::select! {
                () = tokio::time::sleep_until(until) => Next::Launch { restart: true, ack: None },
                _ = catch_up.changed() => {
                    self.history = RestartLog::default();
                    Next::Launch { restart: true, ack: None }
                }
                command = self.commands.recv() => self.obey(command, Next::Wait { until }),
            };
            if !matches!(next, Next::Wait { .. }) {
                return next;
            }
        }
    }

    async fn after(&mut self, end: RunEnd) -> Next {
        match end {
            RunEnd::Asked(Interrupt::Sleep) => Next::Sleep,
            // An on-demand server that ended itself cleanly is asleep, not gone.
            RunEnd::Ended {
                exit: Exit::Clean, ..
            } if self.spec.start.on_demand() && self.lists_kept => {
                self.fall_asleep().await;
                Next::Sleep
            }
            RunEnd::Unstartable(reason) => {
                self.note(format!("cannot start: {reason}"));
                self.set(ServerState::Failed { reason });
                Next::Idle
            }
            RunEnd::Asked(Interrupt::Stop(ack)) => {
                self.set(ServerState::Stopped);
                acknowledge(ack);
                Next::Idle
            }
            RunEnd::Asked(Interrupt::Restart(ack)) => {
                self.history = RestartLog::default();
                Next::Launch { restart: false, ack }
            }
            RunEnd::Asked(Interrupt::Shutdown(ack)) => {
                acknowledge(ack);
                Next::Exit
            }
            RunEnd::Ended { reason, exit, lasted } => self.decide(reason, exit, lasted),
        }
    }

    fn decide(&mut self, reason: FailureReason, exit: Exit, lasted: Duration) -> Next {
        let backoff = self.shared.config.backoff;
        let now = Instant::now();
        let history = self.history.view(now, backoff.window);
        match policy::decide(
            self.spec.restart,
            exit,
            lasted,
            &history,
            &backoff,
            jitter_sample(),
        ) {
            Decision::Stay if exit == Exit::Clean => {
                self.set(ServerState::Stopped);
                Next::Idle
            }
            Decision::Stay => {
                self.set(ServerState::Failed { reason });
                Next::Idle
            }
            Decision::Restart { attempt, after } => {
                self.history.attempts = attempt;
                self.history.at.push_back(now);
                self.restarts.fetch_add(1, Ordering::Relaxed);
                self.note(format!(
                    "restarting in {} ms (attempt {attempt})",
                    after.as_millis()
                ));
                let until_ms = now_millis() + i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
                self.set(ServerState::BackingOff {
                    attempt,
                    until_ms,
                    last: reason,
                });
                Next::Wait { until: now + after }
            }
            Decision::GiveUp { restarts } => {
                self.note(format!(
                    "crash loop: {restarts} restarts within {:?}; giving up",
                    backoff.window
                ));
                self.set(ServerState::CrashLooping {
                    restarts,
                    window_secs: backoff.window.as_secs(),
                    last: reason,
                });
                Next::Idle
            }
        }
    }

    /// One run: start, handshake, run until it ends or is interrupted.
    async fn run_once(&mut self, is_restart: bool, ack: Option<Ack>) -> RunEnd {
        self.set(ServerState::Starting { pid: None });
        acknowledge(ack);
        let turn = match self.start_turn().await {
            Ok(turn) => turn,
            Err(interrupt) => return RunEnd::Asked(interrupt),
        };
        let (mut run, peer) = match self.transport_start(is_restart).await {
            Ok(started) => started,
            Err(end) => return end,
        };
        if let Some(process) = &run.process {
            self.set(ServerState::Starting {
                pid: Some(process.pid()),
            });
        }
        let handshake = match self.start_up(&mut run, &peer).await {
            Ok(handshake) => handshake,
            Err(end) => return end,
        };
        drop(turn);
        self.mark_running(&run, &peer, handshake).await;
        self.keep_running(run, peer).await
    }

    /// Waits for a turn to start a process, still obeying commands meanwhile.
    async fn start_turn(&mut self) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, Interrupt> {
        let shared = Arc::clone(&self.shared);
        let turn = shared.start_turn();
        tokio::pin!(turn);
        loop {
            tokio::select! {
                turn = &mut turn => return Ok(turn),
                command = self.commands.recv() => {
                    if let Some(interrupt) = self.interrupt(command) {
                        return Err(interrupt);
                    }
                }
            }
        }
    }

    /// Startup: the handshake races the process's exit, the deadline and commands.
    async fn start_up(&mut self, run: &mut Run, peer: &Arc<Upstream>) -> Result<mcp::Handshake, RunEnd> {
        let startup_timeout = Duration::from_millis(self.spec.health.startup_timeout_ms);
        let listen_url = match &self.spec.transport {
            Transport::LocalHttp { url, .. } => Some(url.clone()),
            _ => None,
        };
        let protocol = self.spec.protocol();
        let handshake = async {
            if let Some(url) = &listen_url {
                wait_listening(url).await;
            }
            // The startup deadline below decides; each request's own bound only backs it up.
            mcp::handshake(peer, protocol, startup_timeout * 2).await
        };
        tokio::pin!(handshake);
        let deadline = tokio::time::sleep(startup_timeout);
        tokio::pin!(deadline);
        let mut catch_up = self.shared.catch_up.subscribe();
        let result = loop {
            tokio::select! {
                result = &mut handshake => break result,
                _ = catch_up.changed() => deadline.as_mut().reset(Instant::now() + startup_timeout),
                cause = wait_exit(&mut run.process) => {
                    let stderr_tail = self.finish(run, &cause).await;
                    let reason = startup_exit_reason(&self.spec, cause, stderr_tail);
                    return Err(RunEnd::Ended { reason, exit: Exit::Failure, lasted: run.started.elapsed() });
                }
                () = &mut deadline => {
                    if fired_late(deadline.deadline()) {
                        // The daemon was frozen past the deadline: the server had no fair chance.
                        deadline.as_mut().reset(Instant::now() + startup_timeout);
                        continue;
                    }
                    let cause = self.kill(run).await;
                    let stderr_tail = self.finish(run, &cause).await;
                    let after_ms = u64::try_from(startup_timeout.as_millis()).unwrap_or(u64::MAX);
                    let reason = FailureReason::HandshakeTimeout { after_ms, stderr_tail };
                    return Err(RunEnd::Ended { reason, exit: Exit::Failure, lasted: run.started.elapsed() });
                }
                command = self.commands.recv() => {
                    if let Some(interrupt) = self.interrupt(command) {
                        return Err(self.stop_run(run, peer, interrupt).await);
                    }
                }
            }
        };
        match result {
            Ok(handshake) => Ok(handshake),
            Err(error) => Err(self.handshake_failed(run, error).await),
        }
    }

    /// Why a handshake that failed ended the run: a server that needs a login, the exit that
    /// followed, or the failure itself.
    async fn handshake_failed(&self, run: &mut Run, error: RpcError) -> RunEnd {
        // A server that exits closes its stdout first, so the handshake can fail just before
        // the exit is reaped: an exit that follows promptly is the real story.
        let exited = match run.process {
            Some(_) => tokio::time::timeout(Duration::from_secs(1), wait_exit(&mut run.process))
                .await
                .ok(),
            None => None,
        };
        let (cause, exited) = match exited {
            Some(cause) => (cause, true),
            None => (self.kill(run).await, false),
        };
        let stderr_tail = self.finish(run, &cause).await;
        if let RpcError::Remote {
            code: code::UNAUTHORIZED,
            ..
        } = &error
        {
            // Retrying cannot help until someone logs in.
            let name = &self.spec.name;
            return RunEnd::Unstartable(FailureReason::NeedsLogin {
                message: format!("{error}; run `switchboard login {name}`"),
            });
        }
        let reason = match exited {
            true => startup_exit_reason(&self.spec, cause, stderr_tail),
            false => FailureReason::HandshakeFailed {
                message: error.to_string(),
            },
        };
        RunEnd::Ended {
            reason,
            exit: Exit::Failure,
            lasted: run.started.elapsed(),
        }
    }

    /// The handshake succeeded: recorded, announced, and the upstream published.
    async fn mark_running(&mut self, run: &Run, peer: &Arc<Upstream>, handshake: mcp::Handshake) {
        if let Some(id) = run.id
            && let Err(e) = self.shared.store.run_ready(id, handshake.tools).await
        {
            tracing::warn!(server = %self.spec.name, "cannot record readiness: {e}");
            self.shared.store.unwritten().run_lost(&e.to_string());
        }
        self.note(format!(
            "running: {} {} ({} tools, protocol {})",
            handshake.info.name, handshake.info.version, handshake.tools, handshake.info.protocol_version
        ));
        // Idleness counts from readiness: a slow start is not time unused.
        peer.touch();
        self.upstream.send_replace(Some(Arc::clone(peer)));
        self.set(ServerState::Running {
            pid: run.process.as_ref().map(ServerProcess::pid),
            since_ms: now_millis(),
            tools: handshake.tools,
            server_info: Some(handshake.info),
        });
    }

    /// Running: until it exits, stops answering pings, loses its login, or a command
    /// interrupts.
    async fn keep_running(&mut self, mut run: Run, peer: Arc<Upstream>) -> RunEnd {
        let pings = health(
            self.spec.health,
            &peer,
            Duration::from_millis(self.spec.health.ping_interval_ms),
        );
        tokio::pin!(pings);
        let mut catch_up = self.shared.catch_up.subscribe();
        let is_remote = matches!(self.spec.transport, Transport::RemoteHttp { .. });
        let login_lost = self.shared.oauth.lost(&self.spec.name);
        tokio::pin!(login_lost);
        let every = idle_check_interval(self.idle_after());
        let mut idle_check = tokio::time::interval_at(Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = catch_up.changed() => {
                    // Checked now, its misses forgotten: the sleep was not the server's.
                    self.history = RestartLog::default();
                    pings.set(health(self.spec.health, &peer, Duration::ZERO));
                }
                _ = idle_check.tick() => {
                    if let Some(idle) = self.idle_after()
                        && peer.is_quiet(idle)
                        && (self.lists_kept || self.kept_tools().await.is_some())
                        && peer.retire_if_idle(idle)
                    {
                        self.note(format!("no calls for {idle:?}; stopping it until the next one"));
                        // Asleep before the process is stopped: lists are answered from what
                        // was kept meanwhile, and a request that comes wakes it after.
                        self.fall_asleep().await;
                        return self.stop_run(&mut run, &peer, Interrupt::Sleep).await;
                    }
                }
                why = &mut login_lost, if is_remote => {
                    // Its refresh token was refused: retrying cannot help until someone logs in.
                    self.upstream.send_replace(None);
                    peer.shutdown();
                    self.finish(&mut run, &ExitCause::Stopped).await;
                    return RunEnd::Unstartable(FailureReason::NeedsLogin { message: why });
                }
                cause = wait_exit(&mut run.process) => {
                    let stderr_tail = self.finish(&mut run, &cause).await;
                    let exit = if cause.is_success() { Exit::Clean } else { Exit::Failure };
                    let reason = FailureReason::Crashed { cause, stderr_tail };
                    return RunEnd::Ended { reason, exit, lasted: run.started.elapsed() };
                }
                () = &mut pings => {
                    self.note(format!("missed {} pings in a row; ending it as hung", self.spec.health.ping_retries));
                    // A hung server gets no polite stop: it would not answer that either.
                    self.kill(&mut run).await;
                    let stderr_tail = self.finish(&mut run, &ExitCause::Unresponsive).await;
                    let reason = FailureReason::Crashed { cause: ExitCause::Unresponsive, stderr_tail };
                    return RunEnd::Ended { reason, exit: Exit::Failure, lasted: run.started.elapsed() };
                }
                command = self.commands.recv() => {
                    if let Some(interrupt) = self.interrupt(command) {
                        return self.stop_run(&mut run, &peer, interrupt).await;
                    }
                }
            }
        }
    }

    fn interrupt(&mut self, command: Option<Command>) -> Option<Interrupt> {
        match command {
            None => Some(Interrupt::Shutdown(None)),
            Some(Command::Start(ack) | Command::Arm(ack)) => {
                let _ = ack.send(());
                None
            }
            Some(Command::Stop(ack)) => Some(Interrupt::Stop(Some(ack))),
            Some(Command::Restart(ack)) => Some(Interrupt::Restart(Some(ack))),
            // When it runs is no reason to restart it: the running process serves on.
            Some(Command::Replace(spec, ack))
                if ServerSpec {
                    start: self.spec.start,
                    ..(*spec).clone()
                } == self.spec =>
            {
                self.adopt(*spec);
                let _ = ack.send(());
                None
            }
            Some(Command::Replace(spec, ack)) => {
                self.adopt(*spec);
                Some(Interrupt::Restart(Some(ack)))
            }
            Some(Command::Shutdown(ack)) => Some(Interrupt::Shutdown(Some(ack))),
        }
    }

    /// The stop sequence for a run the user (or the daemon) ends.
    async fn stop_run(&mut self, run: &mut Run, peer: &Upstream, interrupt: Interrupt) -> RunEnd {
        self.upstream.send_replace(None);
        peer.shutdown();
        run.stdin = None;
        if let Some(process) = run.process.take() {
            let pgid = process.pgid();
            let cause = process.stop(self.shared.config.stop_grace).await;
            self.shared.unwatch(pgid);
            self.note(format!("stopped ({cause})"));
        }
        // History records why it ended (asked to), not how the process took it.
        self.finish(run, &ExitCause::Stopped).await;
        RunEnd::Asked(interrupt)
    }

    async fn kill(&self, run: &mut Run) -> ExitCause {
        match run.process.as_mut() {
            Some(process) => {
                process.kill_group();
                process.wait().await
            }
            None => ExitCause::Unresponsive,
        }
    }

    /// Cleans up after the leader exited: stragglers, watchdog, stderr, history. Returns the
    /// run's stderr tail.
    async fn finish(&self, run: &mut Run, cause: &ExitCause) -> String {
        self.upstream.send_replace(None);
        if let Some(peer) = run.peer.take() {
            peer.shutdown();
        }
        if let Some(process) = run.process.take() {
            process.kill_group();
            self.shared.unwatch(process.pgid());
            self.note(format!("process {} {cause}", process.pid()));
        }
        if let Some(task) = run.stderr_task.take() {
            // Its pipe closes once the whole group is gone; don't hang on a leaked descriptor.
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
        if let Some(id) = run.id
            && let Err(e) = self.shared.store.end_run(id, cause).await
        {
            tracing::warn!(server = %self.spec.name, "cannot record exit: {e}");
            self.shared.store.unwritten().run_lost(&e.to_string());
        }
        self.log.stderr_since(run.stderr_from, STDERR_TAIL_LINES)
    }

    /// Starts the transport: spawns the process (if any) and connects the peer.
    async fn transport_start(&self, is_restart: bool) -> Result<(Run, Arc<Upstream>), RunEnd> {
        let (mut run, (out, incoming)) = self.connect(is_restart).await?;
        let peer = Upstream::start(self.spec.name.clone(), out, incoming, self.notices.clone());
        run.peer = Some(Arc::clone(&peer));
        Ok((run, peer))
    }

    /// Spawns the process (if any) and opens the link to it.
    async fn connect(&self, is_restart: bool) -> Result<(Run, link::Channels), RunEnd> {
        match self.spec.transport.clone() {
            Transport::Stdio(launch) => {
                let (run, stdin, stdout) = self.spawn(&launch, is_restart).await?;
                Ok((run, link::stdio(stdin, stdout, Arc::clone(&self.log))))
            }
            Transport::LocalHttp { launch, url } => {
                if let Some(port) = port_taken(&url).await {
                    return Err(RunEnd::Unstartable(FailureReason::PortInUse { port }));
                }
                let (mut run, stdin, stdout) = self.spawn(&launch, is_restart).await?;
                run.stdin = Some(stdin);
                tokio::spawn(forward_lines(stdout, Arc::clone(&self.log), LogStream::Stdout));
                let link = link::http(
                    self.shared.http.clone(),
                    url,
                    Default::default(),
                    None,
                    Arc::clone(&self.log),
                );
                Ok((run, link))
            }
            Transport::RemoteHttp { url, headers } => {
                let headers = header_map(&self.shared, &self.spec.name, &url, &headers)
                    .await
                    .map_err(RunEnd::Unstartable)?;
                let id = self.record_start(None, is_restart).await;
                let run = Run {
                    process: None,
                    id,
                    started: Instant::now(),
                    stderr_from: self.log.next_seq(),
                    stderr_task: None,
                    stdin: None,
                    peer: None,
                };
                // A login's token, unless the spec sets the header itself.
                let bearer = (!headers.contains_key(reqwest::header::AUTHORIZATION)).then(|| {
                    let login: link::Bearer = Arc::new(ServerLogin {
                        oauth: Arc::clone(&self.shared.oauth),
                        server: self.spec.name.clone(),
                        resource: url.clone(),
                    });
                    login
                });
                let link = link::http(
                    self.shared.http.clone(),
                    url,
                    headers,
                    bearer,
                    Arc::clone(&self.log),
                );
                Ok((run, link))
            }
        }
    }

    /// Spawns the process and starts reading its stderr; returns its stdin and stdout.
    async fn spawn(
        &self,
        launch: &Launch,
        is_restart: bool,
    ) -> Result<(Run, ChildStdin, ChildStdout), RunEnd> {
        let stderr_from = self.log.next_seq();
        let spawned = spawn_watched(&self.shared, launch, &self.log)
            .await
            .map_err(RunEnd::Unstartable)?;
        self.note(format!(
            "started `{}` as pid {}",
            launch.command,
            spawned.process.pid()
        ));
        let id = self.record_start(Some(spawned.process.pid()), is_restart).await;
        let run = Run {
            process: Some(spawned.process),
            id,
            started: Instant::now(),
            stderr_from,
            stderr_task: Some(spawned.stderr_task),
            stdin: None,
            peer: None,
        };
        Ok((run, spawned.stdin, spawned.stdout))
    }

    async fn record_start(&self, pid: Option<u32>, is_restart: bool) -> Option<i64> {
        self.starts.fetch_add(1, Ordering::Relaxed);
        match self
            .shared
            .store
            .start_run(&self.spec.name, pid, is_restart)
            .await
        {
            Ok(id) => {
                self.shared.store.unwritten().run_written();
                Some(id)
            }
            Err(e) => {
                tracing::warn!(server = %self.spec.name, "cannot record start: {e}");
                self.shared.store.unwritten().run_lost(&e.to_string());
                None
            }
        }
    }
}

/// Waits until a local HTTP server accepts connections; the startup deadline bounds it.
async fn wait_listening(url: &str) {
    while port_taken(url).await.is_none() {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn wait_exit(process: &mut Option<ServerProcess>) -> ExitCause {
    match process {
        Some(process) => process.wait().await,
        None => std::future::pending().await,
    }
}

fn startup_exit_reason(spec: &ServerSpec, cause: ExitCause, stderr_tail: String) -> FailureReason {
    if let Transport::LocalHttp { url, .. } = &spec.transport {
        let lower = stderr_tail.to_ascii_lowercase();
        if (lower.contains("eaddrinuse")
            || lower.contains("address already in use")
            || lower.contains("already in use"))
            && let Some(port) = url::Url::parse(url).ok().and_then(|u| u.port_or_known_default())
        {
            return FailureReason::PortInUse { port };
        }
    }
    FailureReason::ExitedDuringStartup { cause, stderr_tail }
}

/// The port of a local HTTP server's URL, if something already listens there.
async fn port_taken(url: &str) -> Option<u16> {
    let parsed = url::Url::parse(url).ok()?;
    let port = parsed.port_or_known_default()?;
    let host = parsed
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_millis(300), connect).await {
        Ok(Ok(_)) => Some(port),
        _ => None,
    }
}

/// A uniform sample in [-1, 1] for backoff jitter.
fn jitter_sample() -> f64 {
    let raw = getrandom::u32().unwrap_or(u32::MAX / 2);
    f64::from(raw) / f64::from(u32::MAX) * 2.0 - 1.0
}
