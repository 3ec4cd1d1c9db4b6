//! Running a package manager as a helper, and turning its failure into words.
//!
//! It owns the fetch deadline and the shape of a failed fetch's error (its last lines of
//! output); what to run, and with which arguments, is each ecosystem's.

use switchboard_supervisor::helper::{HelperCommand as Command, Helpers};

use super::FETCH_TIMEOUT;
use crate::install::InstallError;

/// Runs a package manager as a helper (its own group under the watchdog, killed with all it
/// started when the install is cancelled or `FETCH_TIMEOUT` passes), turning a failure into
/// its last lines of output.
pub(super) async fn run_fetch(
    helpers: &Helpers,
    mut command: Command,
    what: &str,
) -> Result<(), InstallError> {
    command.deadline(FETCH_TIMEOUT);
    let output = helpers
        .run(&command)
        .await
        .map_err(|source| InstallError::Helper {
            what: what.to_owned(),
            source,
        })?;
    if output.success() {
        return Ok(());
    }
    let tail = output.stderr.last_lines(6);
    Err(InstallError::Fetch {
        what: what.to_owned(),
        detail: if tail.is_empty() {
            format!("it {}", output.exit)
        } else {
            tail
        },
    })
}
