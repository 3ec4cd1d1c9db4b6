//! npm packages: `npm install` into the package directory, run as `node` and the script the
//! package's `bin` names.
//!
//! Install scripts stay off unless the user allowed them (the ones that did not run become
//! notes), and dependencies are resolved as of the publish date when the plan has one. The
//! package name was checked by the plan (`identifier::check`); this module does not check it.

use std::path::{Path, PathBuf};

use switchboard_registry::DependencyDate;
use switchboard_registry::Runtime;
use switchboard_registry::plan::identifier::fetch_target;
use switchboard_supervisor::helper::HelperCommand as Command;

use super::{FetchContext, Fetched, dated, launch};
use crate::install::InstallError;
use crate::install::error::io_error;
use crate::runtime::prepend_path;

pub(super) async fn fetch(
    ctx: &FetchContext<'_>,
    package: &str,
    version: Option<&str>,
) -> Result<Fetched, InstallError> {
    let (_, node) = ctx.need(&[Runtime::Node])?;
    let (_, npm) = ctx.need(&[Runtime::Npm])?;
    // The identifier was checked as an npm name; `--` keeps it a package all the same.
    let spec = fetch_target(&ctx.plan.fetch).unwrap_or_default();
    let what = format!("npm install {spec}");
    let date = ctx.plan.dependencies_as_of.as_ref();
    let build = |date: Option<&DependencyDate>| npm_install(ctx, &npm, &node, &spec, date);
    let dated = dated::run(ctx.helpers, date, build, &what).await?;
    let (bin, installed) = npm_bin(ctx.dir, package)?;
    let mut args = vec![bin.display().to_string()];
    args.extend(ctx.plan.package_args.iter().cloned());
    let mut done = ctx.fetched(
        launch(node, args),
        version.is_none().then(|| installed.clone()),
        dated.describe(format!("npm {package}@{installed} into {}", ctx.dir.display())),
    );
    done.notes.extend(dated.note());
    if !ctx.consent.scripts {
        done.notes.extend(crate::packages::skipped_scripts(ctx.dir));
    }
    Ok(done)
}

/// `npm install` of `spec` into the package directory, with `node`'s directory on its PATH.
fn npm_install(
    ctx: &FetchContext<'_>,
    npm: &Path,
    node: &Path,
    spec: &str,
    date: Option<&DependencyDate>,
) -> Command {
    let mut command = Command::new(npm);
    command.args(["install", "--no-audit", "--no-fund", "--no-save"]);
    if !ctx.consent.scripts {
        command.arg("--ignore-scripts");
    }
    if let Some(date) = date {
        command.arg(date.npm_arg());
    }
    command
        .arg("--prefix")
        .arg(ctx.dir)
        .arg("--")
        .arg(spec)
        .env("PATH", prepend_path(node.parent().unwrap_or(Path::new("/"))));
    command
}

/// The script an npm package's `bin` names (the one named like the package when there are
/// several), and the version installed.
fn npm_bin(prefix: &Path, package: &str) -> Result<(PathBuf, String), InstallError> {
    let root = prefix.join("node_modules").join(package);
    let manifest_path = root.join("package.json");
    let bytes = std::fs::read(&manifest_path).map_err(io_error("reading", &manifest_path))?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| InstallError::Fetch {
        what: format!("reading {}", manifest_path.display()),
        detail: e.to_string(),
    })?;
    let version = manifest["version"].as_str().unwrap_or_default().to_owned();
    let unscoped = package.rsplit('/').next().unwrap_or(package);
    let bin = match &manifest["bin"] {
        serde_json::Value::String(path) => Some(path.clone()),
        serde_json::Value::Object(bins) => bins
            .get(unscoped)
            .or_else(|| (bins.len() == 1).then(|| bins.values().next()).flatten())
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        _ => None,
    };
    let bin = bin.ok_or_else(|| InstallError::Fetch {
        what: format!("finding the program of npm package {package}"),
        detail: "its package.json names no single `bin` to run".to_owned(),
    })?;
    Ok((root.join(bin), version))
}
