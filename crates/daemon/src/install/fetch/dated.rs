//! Running a package manager with the plan's dependencies resolved as of the version's
//! publish time, and saying what happened.
//!
//! The date is best effort: a registry entry published before its own package (or a package
//! index that does not record upload times) can make the dated resolution fail, and then the
//! install is retried with today's dependencies and says so, rather than failing an install
//! that `npx`/`uvx` would have done.
//!
//! It does not build the package manager's command: each ecosystem hands it a builder.

use switchboard_registry::DependencyDate;
use switchboard_supervisor::helper::{HelperCommand as Command, Helpers};

use super::run::run_fetch;
use crate::install::InstallError;

/// How the dependencies of one install were resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Dated {
    /// As of the publish time.
    AsOf(DependencyDate),
    /// With today's versions: the plan had no date, or the user asked for the latest.
    Latest,
    /// With today's versions because the dated resolution failed; the reason, in words.
    FellBack(String),
}

impl Dated {
    /// `described` with how its dependencies were resolved, when a date was involved.
    pub(super) fn describe(&self, described: String) -> String {
        match self {
            Self::AsOf(date) => format!("{described}; {}", date.summary()),
            Self::Latest => described,
            Self::FellBack(_) => format!("{described}; today's dependencies"),
        }
    }

    /// A warning for the report, when the date could not be kept.
    pub(super) fn note(&self) -> Option<String> {
        match self {
            Self::FellBack(reason) => Some(reason.clone()),
            Self::AsOf(_) | Self::Latest => None,
        }
    }
}

/// Runs `build(date)`; if that fails with a date, runs `build(None)` once more.
pub(super) async fn run(
    helpers: &Helpers,
    date: Option<&DependencyDate>,
    build: impl Fn(Option<&DependencyDate>) -> Command,
    what: &str,
) -> Result<Dated, InstallError> {
    let Some(date) = date else {
        run_fetch(helpers, build(None), what).await?;
        return Ok(Dated::Latest);
    };
    match run_fetch(helpers, build(Some(date)), what).await {
        Ok(()) => Ok(Dated::AsOf(date.clone())),
        Err(InstallError::Fetch { detail, .. }) => {
            tracing::warn!(%what, %detail, "dated dependency resolution failed; retrying with today's");
            run_fetch(helpers, build(None), what).await?;
            Ok(Dated::FellBack(format!(
                "dependencies could not be resolved as of {} ({}); installed with today's, which may not suit this version",
                date.day(),
                detail.lines().last().unwrap_or_default().trim()
            )))
        }
        Err(error) => Err(error),
    }
}

/// Why a date could not be used with plain pip.
pub(super) fn needs_uv(date: &DependencyDate) -> String {
    format!(
        "dependencies are today's: resolving them as of {}, when this version was published, needs uv",
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (how it was resolved, what the report says it fetched, its warning).
    #[test]
    fn the_report_says_how_dependencies_were_resolved() {
        let date = DependencyDate::from_published(Some("2026-06-04T01:30:00Z")).expect("a date");
        #[rustfmt::skip]
        let cases = [
            (Dated::AsOf(date.clone()), "PyPI x; dependencies as of 2026-06-04, when this version was published", None),
            (Dated::Latest, "PyPI x", None),
            (Dated::FellBack("why".to_owned()), "PyPI x; today's dependencies", Some("why")),
            (Dated::FellBack(needs_uv(&date)), "PyPI x; today's dependencies", Some("dependencies are today's: resolving them as of 2026-06-04, when this version was published, needs uv")),
        ];
        for (dated, described, note) in cases {
            assert_eq!(dated.describe("PyPI x".to_owned()), described, "{dated:?}");
            assert_eq!(dated.note().as_deref(), note, "{dated:?}");
        }
    }
}
