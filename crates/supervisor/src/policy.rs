//! The restart decision: a pure function of policy, exit, recent restarts and a jitter sample.
//!
//! [`decide`] is the whole policy; the mechanism (timers, spawning) lives in the server actor.
//! Keeping randomness and the clock as inputs makes the decision reproducible and testable as
//! a table.

use std::time::Duration;

use switchboard_model::RestartPolicy;

/// Tunables of the backoff and crash-loop detection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay of the first restart after a stable run: small, so a one-off crash is invisible.
    pub first: Duration,
    /// Delay of the second restart; each later one doubles, up to `max`.
    pub base: Duration,
    pub max: Duration,
    /// Fraction of the delay added or removed at random, so servers that died together
    /// (a shared dependency went away) do not come back in lockstep.
    pub jitter: f64,
    /// A run at least this long resets the attempt count: the server had recovered.
    pub stable_after: Duration,
    /// More than `max_restarts` restarts within `window` is a crash loop.
    pub max_restarts: u32,
    pub window: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::ZERO,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            jitter: 0.2,
            stable_after: Duration::from_secs(30),
            max_restarts: 5,
            window: Duration::from_secs(60),
        }
    }
}

/// How the last run ended, as far as the restart decision cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The user (or daemon shutdown) stopped it.
    StoppedByUser,
    /// Exited with code 0 on its own.
    Clean,
    /// Non-zero exit, signal, failed startup or failed health checks.
    Failure,
}

/// What the supervisor should do next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Leave it down; the user's stop or the policy says so.
    Stay,
    /// Start it again after `after`; this is restart number `attempt` since it was last stable.
    Restart { attempt: u32, after: Duration },
    /// Too many restarts in the window: stop trying until the user acts (or the world around
    /// the server changes: a wake, a new network).
    GiveUp { restarts: u32 },
}

/// Restarts the supervisor made recently, oldest first, as time since each happened.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Restarts since the server was last stable (resets after a long enough run).
    pub attempts: u32,
    /// Ages of the restarts made within the crash-loop window.
    pub recent: Vec<Duration>,
}

/// The decision. `jitter_sample` is a uniform random number in `[-1, 1]`.
pub fn decide(
    policy: RestartPolicy,
    exit: Exit,
    run_lasted: Duration,
    history: &History,
    backoff: &Backoff,
    jitter_sample: f64,
) -> Decision {
    let wanted = match (policy, exit) {
        (_, Exit::StoppedByUser) | (RestartPolicy::Never, _) => false,
        (RestartPolicy::OnFailure, Exit::Clean) => false,
        (RestartPolicy::Always, _) | (RestartPolicy::OnFailure, Exit::Failure) => true,
    };
    if !wanted {
        return Decision::Stay;
    }
    let in_window = history.recent.iter().filter(|age| **age < backoff.window).count();
    let in_window = u32::try_from(in_window).unwrap_or(u32::MAX);
    if in_window >= backoff.max_restarts {
        return Decision::GiveUp { restarts: in_window };
    }
    let previous = if run_lasted >= backoff.stable_after {
        0
    } else {
        history.attempts
    };
    let attempt = previous + 1;
    Decision::Restart {
        attempt,
        after: delay(attempt, backoff, jitter_sample),
    }
}

fn delay(attempt: u32, backoff: &Backoff, jitter_sample: f64) -> Duration {
    if attempt <= 1 {
        return backoff.first;
    }
    let doublings = (attempt - 2).min(16);
    let nominal = backoff.base.saturating_mul(1 << doublings).min(backoff.max);
    let factor = 1.0 + backoff.jitter * jitter_sample.clamp(-1.0, 1.0);
    nominal.mul_f64(factor).min(backoff.max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use RestartPolicy::{Always, Never, OnFailure};

    const SHORT: Duration = Duration::from_millis(100);
    const LONG: Duration = Duration::from_secs(3600);

    fn check(policy: RestartPolicy, exit: Exit, expected: Decision) {
        let got = decide(policy, exit, SHORT, &History::default(), &Backoff::default(), 0.0);
        assert_eq!(got, expected, "{policy:?} after {exit:?}");
    }

    /// `attempts` restarts since the last stable run, made `ages` seconds ago.
    fn history(attempts: u32, ages: &[u64]) -> History {
        History {
            attempts,
            recent: ages.iter().map(|&s| Duration::from_secs(s)).collect(),
        }
    }

    fn restart(attempt: u32, millis: u64) -> Decision {
        Decision::Restart {
            attempt,
            after: Duration::from_millis(millis),
        }
    }

    #[test]
    fn user_stop_never_restarts() {
        for policy in [Always, OnFailure, Never] {
            check(policy, Exit::StoppedByUser, Decision::Stay);
        }
    }

    #[test]
    fn policy_table() {
        check(Always, Exit::Clean, restart(1, 0));
        check(Always, Exit::Failure, restart(1, 0));
        check(OnFailure, Exit::Clean, Decision::Stay);
        check(OnFailure, Exit::Failure, restart(1, 0));
        check(Never, Exit::Clean, Decision::Stay);
        check(Never, Exit::Failure, Decision::Stay);
    }

    #[test]
    fn backoff_grows_exponentially_to_the_cap() {
        let table = [
            (0, 0),
            (1, 500),
            (2, 1000),
            (3, 2000),
            (4, 4000),
            (5, 8000),
            (6, 16000),
            (7, 30000),
            (20, 30000),
        ];
        for (previous, millis) in table {
            let got = decide(
                Always,
                Exit::Failure,
                SHORT,
                &history(previous, &[]),
                &Backoff::default(),
                0.0,
            );
            assert_eq!(got, restart(previous + 1, millis), "after {previous} attempts");
        }
    }

    #[test]
    fn jitter_stays_within_its_fraction_and_under_the_cap() {
        let b = Backoff::default();
        for (sample, millis) in [(-1.0, 800), (0.0, 1000), (1.0, 1200), (5.0, 1200)] {
            let got = decide(Always, Exit::Failure, SHORT, &history(2, &[]), &b, sample);
            assert_eq!(got, restart(3, millis), "jitter sample {sample}");
        }
        let got = decide(Always, Exit::Failure, SHORT, &history(30, &[]), &b, 1.0);
        assert_eq!(
            got,
            Decision::Restart {
                attempt: 31,
                after: b.max
            }
        );
    }

    #[test]
    fn a_stable_run_resets_the_count() {
        let got = decide(
            OnFailure,
            Exit::Failure,
            LONG,
            &history(4, &[]),
            &Backoff::default(),
            0.0,
        );
        assert_eq!(got, restart(1, 0));
    }

    #[test]
    fn too_many_restarts_in_the_window_is_a_crash_loop() {
        let b = Backoff::default();
        let cases = [
            // (exit, restarts made, their ages in seconds, decision)
            (Exit::Failure, 5, vec![1; 5], Decision::GiveUp { restarts: 5 }),
            (Exit::Failure, 4, vec![1; 4], restart(5, 4000)),
            // The same number spread beyond the window is not a loop.
            (Exit::Failure, 5, vec![61; 5], restart(6, 8000)),
            // A user stop is never a loop, however many restarts came before.
            (Exit::StoppedByUser, 9, vec![1; 9], Decision::Stay),
        ];
        for (exit, attempts, ages, expected) in cases {
            let got = decide(Always, exit, SHORT, &history(attempts, &ages), &b, 0.0);
            assert_eq!(got, expected, "{exit:?} after restarts aged {ages:?}");
        }
    }
}
