//! Noticing that the world around the servers changed: the machine slept (or the daemon was
//! frozen), or its network changed.
//!
//! Sleeps are told by the OS where it tells them: logind's `PrepareForSleep(false)` on the
//! system bus (Linux), IOKit's power notices (macOS), the suspend-resume notification
//! (Windows). On every OS the clocks tell them too: a tick that comes much later than asked,
//! by the wall clock (the monotonic one stops while the machine sleeps) or by the monotonic one
//! (the daemon was stopped, as with SIGSTOP). Network changes are this machine's addresses,
//! compared every few seconds ([`network`]).
//!
//! Either way the supervisor catches up ([`Supervisor::catch_up`]) and followers hear
//! [`Event::SystemWoke`] or [`Event::NetworkChanged`]. What catching up means for a server is
//! the supervisor's; this module only notices.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use switchboard_model::api::Event;
use switchboard_supervisor::Supervisor;
use tokio::sync::broadcast;
use tokio::time::Instant;

#[cfg(target_os = "linux")]
mod logind;
mod network;
#[cfg(target_os = "macos")]
#[path = "macos.rs"]
mod power;
#[cfg(windows)]
#[path = "windows.rs"]
mod power;

/// How often the clocks are compared.
const TICK: Duration = Duration::from_secs(2);
/// How much longer than a tick may pass before it counts as a sleep.
const JUMP: Duration = Duration::from_secs(5);

/// Follows the machine's sleeps and network changes for as long as the daemon runs.
pub fn follow(supervisor: Arc<Supervisor>, events: broadcast::Sender<Event>) {
    let notice = Arc::new(Notice { supervisor, events });
    tokio::spawn(clocks(Arc::clone(&notice)));
    tokio::spawn(network::follow(Arc::clone(&notice)));
    follow_the_os(notice);
}

/// Where the news goes.
struct Notice {
    supervisor: Arc<Supervisor>,
    events: broadcast::Sender<Event>,
}

impl Notice {
    fn woke(&self, cause: &str, slept: Duration) {
        tracing::info!(
            "woke after about {:.0} s ({cause}): checking every server now",
            slept.as_secs_f64()
        );
        self.supervisor.catch_up();
        let slept_ms = u64::try_from(slept.as_millis()).unwrap_or(u64::MAX);
        let _ = self.events.send(Event::SystemWoke {
            slept_ms,
            cause: cause.to_owned(),
        });
    }

    fn network_changed(&self, change: network::Change) {
        tracing::info!("the network changed ({change}): checking every server now");
        self.supervisor.catch_up();
        let _ = self.events.send(Event::NetworkChanged {
            gained: change.gained,
            lost: change.lost,
        });
    }
}

async fn clocks(notice: Arc<Notice>) {
    let mut wall = SystemTime::now();
    let mut monotonic = Instant::now();
    loop {
        tokio::time::sleep(TICK).await;
        let (wall_now, monotonic_now) = (SystemTime::now(), Instant::now());
        let by_wall = wall_now.duration_since(wall).unwrap_or_default();
        let slept = overslept(by_wall, monotonic_now - monotonic);
        (wall, monotonic) = (wall_now, monotonic_now);
        if let Some(slept) = slept {
            notice.woke("clock", slept);
        }
    }
}

/// When the machine went to sleep, as the OS told. By the wall clock: the monotonic one stands
/// still while the machine sleeps.
#[cfg(any(target_os = "linux", target_os = "macos", windows))]
#[derive(Default)]
struct Asleep(parking_lot::Mutex<Option<SystemTime>>);

#[cfg(any(target_os = "linux", target_os = "macos", windows))]
impl Asleep {
    fn began(&self) {
        *self.0.lock() = Some(SystemTime::now());
    }

    /// How long it slept; zero if the OS never said it went.
    fn woke(&self) -> Duration {
        self.0
            .lock()
            .take()
            .and_then(|at| at.elapsed().ok())
            .unwrap_or_default()
    }
}

/// How long the machine (or the daemon) slept during a tick, if a tick took much longer than
/// asked by either clock.
fn overslept(by_wall: Duration, by_monotonic: Duration) -> Option<Duration> {
    let longest = by_wall.max(by_monotonic);
    (longest > TICK + JUMP).then(|| longest - TICK)
}

#[cfg(target_os = "linux")]
fn follow_the_os(notice: Arc<Notice>) {
    tokio::spawn(async move {
        if let Err(e) = logind::follow(&notice).await {
            tracing::debug!("not following logind's sleeps (the clocks still tell): {e}");
        }
    });
}

/// The OS's power notices come on a thread of its own (macOS) or one of its pool (Windows),
/// each wake as the time slept.
#[cfg(any(target_os = "macos", windows))]
fn follow_the_os(notice: Arc<Notice>) {
    let (woke, mut wakes) = tokio::sync::mpsc::unbounded_channel();
    if let Err(e) = power::follow(woke) {
        tracing::debug!("not following the OS's sleeps (the clocks still tell): {e}");
        return;
    }
    tokio::spawn(async move {
        while let Some(slept) = wakes.recv().await {
            notice.woke(power::CAUSE, slept);
        }
    });
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn follow_the_os(_: Arc<Notice>) {}

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
