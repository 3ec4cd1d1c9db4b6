//! Noticing that the machine slept (or the daemon was frozen) and catching up.
//!
//! Two signs are followed: logind's `PrepareForSleep(false)` on the system bus (Linux), and
//! on every OS the clocks: a tick that comes much later than asked, by the wall clock (the
//! monotonic one stops while the machine sleeps) or by the monotonic one (the daemon was
//! stopped, as with SIGSTOP). Either way the supervisor is told ([`Supervisor::resumed`]) and
//! followers hear [`Event::SystemWoke`]. What catching up means for a server is the
//! supervisor's; this module only notices.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchboard_model::api::Event;
use switchboard_supervisor::Supervisor;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How often the clocks are compared.
const TICK: Duration = Duration::from_secs(2);
/// How much longer than a tick may pass before it counts as a sleep.
const JUMP: Duration = Duration::from_secs(5);

/// Follows the machine's sleeps for as long as the daemon runs.
pub fn follow(supervisor: Arc<Supervisor>, events: broadcast::Sender<Event>) {
    let woke = Arc::new(Woke { supervisor, events });
    tokio::spawn(clocks(Arc::clone(&woke)));
    #[cfg(target_os = "linux")]
    tokio::spawn(async move {
        if let Err(e) = logind::follow(&woke).await {
            tracing::debug!("not following logind's sleeps (the clocks still tell): {e}");
        }
    });
}

struct Woke {
    supervisor: Arc<Supervisor>,
    events: broadcast::Sender<Event>,
}

impl Woke {
    fn announce(&self, cause: &str, slept: Duration) {
        tracing::info!(
            "woke after about {:.0} s ({cause}): checking every server now",
            slept.as_secs_f64()
        );
        self.supervisor.resumed();
        let slept_ms = u64::try_from(slept.as_millis()).unwrap_or(u64::MAX);
        let _ = self.events.send(Event::SystemWoke {
            slept_ms,
            cause: cause.to_owned(),
        });
    }
}

async fn clocks(woke: Arc<Woke>) {
    let mut wall = SystemTime::now();
    let mut monotonic = Instant::now();
    loop {
        tokio::time::sleep(TICK).await;
        let (wall_now, monotonic_now) = (SystemTime::now(), Instant::now());
        let by_wall = wall_now.duration_since(wall).unwrap_or_default();
        let slept = overslept(by_wall, monotonic_now - monotonic);
        (wall, monotonic) = (wall_now, monotonic_now);
        if let Some(slept) = slept {
            woke.announce("clock", slept);
        }
    }
}

/// How long the machine (or the daemon) slept during a tick, if a tick took much longer than
/// asked by either clock.
fn overslept(by_wall: Duration, by_monotonic: Duration) -> Option<Duration> {
    let longest = by_wall.max(by_monotonic);
    (longest > TICK + JUMP).then(|| longest - TICK)
}

#[cfg(target_os = "linux")]
mod logind {
    //! logind's announcements of sleep, on the system bus.

    use std::time::{Duration, Instant};

    use futures_util::StreamExt;

    use super::Woke;

    pub(super) async fn follow(woke: &Woke) -> zbus::Result<()> {
        let connection = zbus::Connection::system().await?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface("org.freedesktop.login1.Manager")?
            .member("PrepareForSleep")?
            .build();
        let mut signals = zbus::MessageStream::for_match_rule(rule, &connection, None).await?;
        tracing::debug!("following logind's sleeps");
        let mut asleep_since = None;
        while let Some(message) = signals.next().await {
            match message?.body().deserialize::<bool>() {
                Ok(true) => asleep_since = Some(Instant::now()),
                Ok(false) => {
                    let slept = asleep_since.take().map_or(Duration::ZERO, |at| at.elapsed());
                    woke.announce("logind", slept);
                }
                Err(e) => tracing::debug!("an unreadable PrepareForSleep: {e}"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_much_longer_by_either_clock_is_a_sleep() {
        let s = Duration::from_secs;
        assert_eq!(overslept(TICK, TICK), None);
        assert_eq!(overslept(s(6), s(6)), None, "a slow tick is not a sleep");
        // The machine slept: the monotonic clock stood still, the wall clock did not.
        assert_eq!(overslept(s(62), TICK), Some(s(60)));
        // The daemon was stopped: both clocks ran on.
        assert_eq!(overslept(s(12), s(12)), Some(s(10)));
    }
}
