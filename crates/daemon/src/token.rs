//! Checking the control token a request presents: the daemon's half of the credential.
//!
//! The token's file (reading it, creating it 0600) is `switchboard_local::token`, shared with
//! the clients that present it; only the daemon compares a presented value with it, so
//! the comparison lives here and no client links it.

use switchboard_local::token::ControlToken;

/// The daemon's check of a presented control token.
pub trait Check {
    /// Compares in time independent of where the first difference is.
    fn matches(&self, presented: &str) -> bool;
}

impl Check for ControlToken {
    fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.expose().as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("control.token");
        let first = ControlToken::load_or_create(&path).expect("creates");
        let again = ControlToken::load_or_create(&path).expect("reads");
        assert!(first.matches(again.expose()));
        assert!(!first.matches("nope"));
    }
}
