//! The folders a session's client works in: its MCP roots, as the client last listed them.
//!
//! Asking for them, and choosing the session's profile by them, is [`crate::roots`]'s; this
//! is what the session keeps, and the wait of a request that arrives while the first answer
//! is outstanding.

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
    /// Asked for the first time; no answer yet.
    Asking,
    /// The roots' URIs, as the client last listed them.
    Listed(Arc<[String]>),
}

impl Session {
    /// The client's roots, once it has listed them.
    pub(crate) fn roots(&self) -> Option<Arc<[String]>> {
        match &*self.roots.borrow() {
            Roots::Listed(roots) => Some(Arc::clone(roots)),
            _ => None,
        }
    }

    /// The client is asked for its roots as `id`; `answer` gets its response.
    pub(crate) fn asking_roots(&self, id: u64, answer: oneshot::Sender<Frame>) {
        self.roots.send_if_modified(|roots| match roots {
            Roots::Unasked => {
                *roots = Roots::Asking;
                true
            }
            _ => false,
        });
        self.server_requests.lock().insert(id, Answerer::Roots(answer));
    }

    /// What the client answered (or, if it did not, no roots).
    pub(crate) fn roots_listed(&self, listed: Arc<[String]>) {
        self.roots.send_replace(Roots::Listed(listed));
    }

    /// Returns once the client's first answer came, or after `patience`: a request that
    /// arrives meanwhile is served under the profile its roots choose.
    pub(crate) async fn roots_settled(&self, patience: Duration) {
        if !matches!(*self.roots.borrow(), Roots::Asking) {
            return;
        }
        let mut roots = self.roots.subscribe();
        let _ = tokio::time::timeout(patience, roots.wait_for(|roots| !matches!(roots, Roots::Asking))).await;
    }
}
