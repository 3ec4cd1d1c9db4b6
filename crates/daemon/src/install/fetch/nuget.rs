//! NuGet packages: nothing is fetched now; the server runs as `dnx PACKAGE[@VERSION] --yes --
//! ARGS`, and dnx fetches the package on its first start.
//!
//! It needs no package directory and runs no helper; it only checks that dnx is there.

use switchboard_registry::Runtime;

use super::{FetchContext, Fetched, launch};
use crate::install::InstallError;

pub(super) async fn fetch(
    ctx: &FetchContext<'_>,
    package: &str,
    version: Option<&str>,
) -> Result<Fetched, InstallError> {
    let (_, dnx) = ctx.need(&[Runtime::Dnx])?;
    let spec = match version {
        Some(version) => format!("{package}@{version}"),
        None => package.to_owned(),
    };
    let mut args = vec![spec.clone(), "--yes".to_owned(), "--".to_owned()];
    args.extend(ctx.plan.package_args.iter().cloned());
    Ok(ctx.fetched(
        launch(dnx, args),
        None,
        format!("NuGet {spec}, which dnx fetches on its first start"),
    ))
}
