//! The folders a session's client works in: its MCP roots, as the client last listed them.
//!
//! Asking for them, and choosing the session's profile by them, is [`crate::roots`]'s; this
//! is what the session keeps, and the wait of a request that arrives while the first answer
//! is outstanding.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchboard_mcp::jsonrpc::Frame;
use tokio::sync::oneshot;

use super::{Answerer, Session};

/// What a session knows of its client's roots.
#[derive(Clone, Debug, Default)]
pub(crate) enum Roots {
    /// Never asked (the client cannot say, or no profile is chosen by roots).
    #[default]
    Unasked,
    /// Asked for the first time; no answer yet. Requests wait for it until the deadline.
    Asking(tokio::time::Instant),
    /// The folders of its roots, as the client last listed them (those that are folders).
    Listed(Arc<[PathBuf]>),
}

impl Session {
    /// The client's roots, once it has listed them.
    pub(crate) fn roots(&self) -> Option<Arc<[PathBuf]>> {
        match &*self.roots.borrow() {
            Roots::Listed(roots) => Some(Arc::clone(roots)),
            _ => None,
        }
    }

    /// The client is asked for its roots as `id`; `answer` gets its response. Requests wait
    /// for a first answer for `patience` at most, all together.
    pub(crate) fn asking_roots(&self, id: u64, answer: oneshot::Sender<Frame>, patience: Duration) {
        self.roots.send_if_modified(|roots| match roots {
            Roots::Unasked => {
                *roots = Roots::Asking(tokio::time::Instant::now() + patience);
                true
            }
            _ => false,
        });
        self.server_requests.lock().insert(id, Answerer::Roots(answer));
    }

    /// What the client answered (or, if it did not, no roots).
    pub(crate) fn roots_listed(&self, listed: Arc<[PathBuf]>) {
        self.roots.send_replace(Roots::Listed(listed));
    }

    /// Returns once the client's first answer came, or its deadline passed: a request that
    /// arrives meanwhile is served under the profile its roots choose.
    pub(crate) async fn roots_settled(&self) {
        let Roots::Asking(deadline) = *self.roots.borrow() else {
            return;
        };
        let mut roots = self.roots.subscribe();
        let answered = roots.wait_for(|roots| !matches!(roots, Roots::Asking(_)));
        let _ = tokio::time::timeout_at(deadline, answered).await;
    }
}
