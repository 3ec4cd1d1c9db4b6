//! Health checks of a running server, and telling a late timer (the daemon was frozen) from
//! a server that did not answer.

use std::time::Duration;

use switchboard_mcp::upstream::Upstream;
use switchboard_model::Health;
use tokio::time::Instant;

use crate::mcp;

/// How late a timer may fire before the daemon, not the server, is taken to be the cause: it
/// was frozen (stopped with SIGSTOP, or starved) while the timer ran.
const LATE: Duration = Duration::from_secs(2);

/// Whether a timer due at `due` fired so late that the daemon must have been frozen.
pub(super) fn fired_late(due: Instant) -> bool {
    Instant::now().saturating_duration_since(due) > LATE
}

/// Completes when the server has missed enough pings in a row to count as hung; the first
/// ping goes after `first`.
pub(super) async fn health(settings: Health, peer: &Upstream, first: Duration) {
    let timeout = Duration::from_millis(settings.ping_timeout_ms);
    let mut misses = 0;
    let mut wait = first;
    loop {
        tokio::time::sleep(wait).await;
        wait = Duration::from_millis(settings.ping_interval_ms);
        let asked = Instant::now();
        match mcp::ping(peer, timeout).await {
            Ok(_) => misses = 0,
            // Its answer could not be read in time because the daemon itself was stopped.
            Err(_) if fired_late(asked + timeout) => {}
            Err(_) => misses += 1,
        }
        if misses >= settings.ping_retries {
            return;
        }
    }
}
