//! When a server's process runs: a server's [`Start`] settings (always, or on demand with an
//! idle time) and its per-session process limit. Acting on them is the supervisor's.

use super::SpecError;

/// When the server's process runs: all the time, or only while it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Start {
    pub mode: StartMode,
    /// On demand: how long the server stays up with no call in flight, no call made and no
    /// resource subscription before it sleeps again.
    pub idle_after_ms: u64,
    /// A per-session server: how many processes its sessions may have at once.
    pub max_processes: u32,
}

impl Default for Start {
    fn default() -> Self {
        Self {
            mode: StartMode::Always,
            idle_after_ms: 10 * 60 * 1000,
            max_processes: 8,
        }
    }
}

impl Start {
    /// Shortest idle time accepted: a server that sleeps sooner would spend its life starting.
    pub const MIN_IDLE_MS: u64 = 1_000;

    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    pub fn on_demand(&self) -> bool {
        self.mode == StartMode::OnDemand
    }
}

/// Whether a server runs all the time or sleeps until it is called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum StartMode {
    /// Started with the daemon and kept running.
    #[default]
    Always,
    /// Sleeping (its lists answered from the last run's) until a request needs the process;
    /// stopped again once idle.
    OnDemand,
}

impl std::str::FromStr for StartMode {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Self::Always),
            "on-demand" => Ok(Self::OnDemand),
            other => Err(SpecError::BadStartMode {
                given: other.to_owned(),
            }),
        }
    }
}
