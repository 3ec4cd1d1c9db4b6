//! An on-demand server's sleep: whether it may sleep (its lists are kept), falling asleep,
//! and waiting asleep for a wake or a command. When it is idle is the running loop's, at
//! [`idle_check_interval`]'s pace; ringing the wake is `Supervisor::wake`'s.

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::FutureExt;
use switchboard_model::{ServerState, now_millis};

use super::{Actor, Command, Next, RestartLog};

impl Actor {
    /// Whether the server can sleep and still be listed: on demand, with lists kept.
    pub(super) async fn may_sleep(&mut self) -> bool {
        self.spec.start.on_demand() && self.kept_tools().await.is_some()
    }

    /// Tools its kept lists hold, if it has any kept.
    pub(super) async fn kept_tools(&mut self) -> Option<u32> {
        let tools = match self.shared.store.kept_tools(&self.spec.name).await {
            Ok(tools) => tools,
            Err(e) => {
                tracing::warn!(server = %self.spec.name, "cannot read its kept lists, so it stays up: {e}");
                None
            }
        };
        self.lists_kept = tools.is_some();
        tools
    }

    /// How long it may go unused before it sleeps, if it is on demand.
    pub(super) fn idle_after(&self) -> Option<Duration> {
        let start = self.spec.start;
        start
            .on_demand()
            .then(|| Duration::from_millis(start.idle_after_ms))
    }

    pub(super) async fn fall_asleep(&mut self) {
        // A wake rung while it ran was served by that run; one rung from now on is not.
        let _ = self.wake.notified().now_or_never();
        let tools = self.kept_tools().await.unwrap_or_default();
        self.note(format!(
            "asleep: {tools} tools listed from its last run until a call starts it"
        ));
        self.set(ServerState::Sleeping {
            since_ms: now_millis(),
            tools,
        });
    }

    /// Asleep: no process until a request needs one (or a command says otherwise).
    pub(super) async fn sleep(&mut self) -> Next {
        tokio::select! {
            () = self.wake.notified() => {
                self.history = RestartLog::default();
                self.wakes.fetch_add(1, Ordering::Relaxed);
                Next::Launch { restart: false, ack: None }
            }
            command = self.commands.recv() => match command {
                Some(Command::Arm(ack)) => {
                    let _ = ack.send(());
                    Next::Sleep
                }
                // No longer on demand: it runs from now on.
                Some(Command::Replace(spec, ack)) if !spec.start.on_demand() => {
                    self.adopt(*spec);
                    Next::Launch { restart: false, ack: Some(ack) }
                }
                command => self.obey(command, Next::Sleep),
            },
        }
    }
}

/// How often a server is checked for idleness: for an on-demand one a few times per idle
/// time, so it sleeps within a quarter of it; at least every 5 s (a server made on demand
/// while it runs is checked from then on).
pub(super) fn idle_check_interval(idle_after: Option<Duration>) -> Duration {
    idle_after.map_or(Duration::from_secs(5), |idle| {
        (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
    })
}
