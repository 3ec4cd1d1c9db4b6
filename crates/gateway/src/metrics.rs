//! Counters of what went through the gateway, per server, for the Prometheus endpoint: tool
//! calls by outcome and their durations as a histogram.
//!
//! Counting is here, where calls end; the text format and the supervisor's and OS's figures
//! (states, starts, wakes, memory) are the control API's.

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_model::ServerName;
use switchboard_model::api::CallOutcome;

/// Upper bounds of the call-duration buckets, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// One server's counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerCounts {
    /// Calls by outcome (`ok`, `tool_error`, `error`, `cancelled`).
    pub calls: BTreeMap<&'static str, u64>,
    /// Calls at or under each of [`BUCKETS`] (not cumulative), and over the last.
    pub buckets: [u64; BUCKETS.len() + 1],
    pub seconds: f64,
}

/// Every server's counts since the daemon started.
#[derive(Debug, Default)]
pub struct Metrics {
    by_server: Mutex<BTreeMap<ServerName, ServerCounts>>,
}

impl Metrics {
    pub(crate) fn call(&self, server: &ServerName, outcome: CallOutcome, took: Duration) {
        let outcome = match outcome {
            CallOutcome::Ok => "ok",
            CallOutcome::ToolError => "tool_error",
            CallOutcome::Error => "error",
            CallOutcome::Cancelled => "cancelled",
        };
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        let mut by_server = self.by_server.lock();
        let counts = by_server.entry(server.clone()).or_default();
        *counts.calls.entry(outcome).or_default() += 1;
        counts.buckets[bucket] += 1;
        counts.seconds += seconds;
    }

    /// A copy of every server's counts.
    pub fn snapshot(&self) -> BTreeMap<ServerName, ServerCounts> {
        self.by_server.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_outcome_and_bucketed_by_duration() {
        let metrics = Metrics::default();
        let time = ServerName::new("time").unwrap_or_else(|e| panic!("{e}"));
        metrics.call(&time, CallOutcome::Ok, Duration::from_millis(3));
        metrics.call(&time, CallOutcome::Ok, Duration::from_millis(40));
        metrics.call(&time, CallOutcome::Error, Duration::from_secs(60));
        let counts = &metrics.snapshot()[&time];
        assert_eq!(counts.calls["ok"], 2);
        assert_eq!(counts.calls["error"], 1);
        assert_eq!(counts.buckets[0], 1, "3 ms is under 5 ms");
        assert_eq!(counts.buckets[3], 1, "40 ms is under 50 ms");
        assert_eq!(counts.buckets[BUCKETS.len()], 1, "a minute is over every bound");
    }
}
