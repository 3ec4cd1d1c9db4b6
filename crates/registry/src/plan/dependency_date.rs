//! Resolving a version's dependencies as of the day it was published.
//!
//! Many servers declare dependencies without an upper bound (`mcp>=1.0`), so an old version
//! installed today gets today's dependencies and may no longer start: the `mcp` Python SDK
//! 2.x removed names its 1.x servers import. Where the registry gives the version's
//! `publishedAt`, a [`DependencyDate`] asks the package manager to resolve as of that moment
//! (uv's `--exclude-newer`, npm's `--before`), so the server runs as it did when published.
//!
//! The timestamp is registry data that ends up on a command line: it is accepted only as an
//! RFC 3339 date-time and always passed as one `--flag=value` argument.

use super::{Fetch, Plan};

/// The moment a version's dependencies are resolved as of: its publish time in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DependencyDate {
    at: String,
}

impl DependencyDate {
    /// The registry's `publishedAt`, if it is an RFC 3339 date-time (`2025-06-01T12:00:00Z`,
    /// with optional fractions and a `Z` or `±hh:mm` offset); anything else gives no date.
    pub fn from_published(published_at: Option<&str>) -> Option<Self> {
        let at = published_at?.trim();
        is_rfc3339(at).then(|| Self { at: at.to_owned() })
    }

    /// The day, `2025-06-01`.
    pub fn day(&self) -> &str {
        &self.at[..10]
    }

    /// What the plan says about it.
    pub fn summary(&self) -> String {
        format!(
            "dependencies as of {}, when this version was published",
            self.day()
        )
    }

    /// uv's argument: no distribution uploaded after the date.
    pub fn uv_arg(&self) -> String {
        format!("--exclude-newer={}", self.at)
    }

    /// npm's argument: every package at the newest version published before the date.
    pub fn npm_arg(&self) -> String {
        format!("--before={}", self.at)
    }
}

impl Plan {
    /// Resolves the plan's dependencies as of `published_at` where the package manager can
    /// (npm and PyPI packages); other sources, and a missing or malformed date, change nothing.
    pub fn pin_dependencies(&mut self, published_at: Option<&str>) {
        if matches!(self.fetch, Fetch::Npm { .. } | Fetch::Pypi { .. }) {
            self.dependencies_as_of = DependencyDate::from_published(published_at);
        }
    }
}

fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    let date_time = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && (at(10, b'T') || at(10, b't'))
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !date_time {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (registry's publishedAt, the argument uv gets, or None when no date is used).
    #[test]
    fn only_an_rfc3339_publish_time_pins_dependencies() {
        #[rustfmt::skip]
        let cases: &[(Option<&str>, Option<&str>)] = &[
            (Some("2025-06-01T12:00:00Z"), Some("--exclude-newer=2025-06-01T12:00:00Z")),
            (Some("2025-09-29T11:24:07.123456Z"), Some("--exclude-newer=2025-09-29T11:24:07.123456Z")),
            (Some("2025-06-01T12:00:00+02:00"), Some("--exclude-newer=2025-06-01T12:00:00+02:00")),
            (Some(" 2025-06-01T12:00:00Z "), Some("--exclude-newer=2025-06-01T12:00:00Z")),
            (None, None),
            (Some(""), None),
            (Some("2025-06-01"), None),
            (Some("yesterday"), None),
            (Some("2025-06-01T12:00:00Z --index-url=http://evil"), None),
            (Some("2025-06-01T12:00:00."), None),
            (Some("2025-06-01T12:00:00+0200"), None),
            (Some("--exclude-newer"), None),
        ];
        for (published, uv) in cases {
            let date = DependencyDate::from_published(*published);
            assert_eq!(
                date.as_ref().map(DependencyDate::uv_arg).as_deref(),
                *uv,
                "{published:?}"
            );
        }
    }

    #[test]
    fn the_summary_names_the_day() {
        let date = DependencyDate::from_published(Some("2025-06-01T12:00:00Z")).expect("a date");
        assert_eq!(
            date.summary(),
            "dependencies as of 2025-06-01, when this version was published"
        );
        assert_eq!(date.npm_arg(), "--before=2025-06-01T12:00:00Z");
    }
}
