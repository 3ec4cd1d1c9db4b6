//! Container images: `docker pull` (or podman's) now, `docker run -i --rm … -- IMAGE` at
//! each start.
//!
//! The plan's environment reaches the container as `-e NAME` from the runtime's own
//! environment, never as values on the command line. Which runtime arguments are allowed was
//! decided before the fetch (`runtime_args::check_plan`); this module passes them on.

use switchboard_registry::Runtime;
use switchboard_supervisor::helper::HelperCommand as Command;

use super::run::run_fetch;
use super::{FetchContext, Fetched, launch};
use crate::install::InstallError;

pub(super) async fn fetch(ctx: &FetchContext<'_>, image: &str) -> Result<Fetched, InstallError> {
    let (runtime, tool) = ctx.need(&[Runtime::Docker, Runtime::Podman])?;
    let mut pull = Command::new(&tool);
    pull.args(["pull", "--quiet", "--", image]);
    run_fetch(ctx.helpers, pull, &format!("{runtime} pull {image}")).await?;
    Ok(ctx.fetched(
        launch(tool, run_args(ctx, image)),
        None,
        format!("image {image} with {runtime}"),
    ))
}

/// `run -i --rm`, the runtime arguments, `-e` for each variable, then the image and its own
/// arguments after `--`.
fn run_args(ctx: &FetchContext<'_>, image: &str) -> Vec<String> {
    let mut args: Vec<String> = ["run", "-i", "--rm"].map(str::to_owned).to_vec();
    args.extend(ctx.plan.runtime_args.iter().cloned());
    // Values reach the container from the runtime's own environment, not argv.
    for key in ctx.plan.env.keys() {
        args.extend(["-e".to_owned(), key.clone()]);
    }
    args.extend(["--".to_owned(), image.to_owned()]);
    args.extend(ctx.plan.package_args.iter().cloned());
    args
}
