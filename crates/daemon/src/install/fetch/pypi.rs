//! PyPI packages: a virtual environment in the package directory, the package installed into
//! it with uv (dependencies as of the publish date when the plan has one) or, without uv, with
//! python's venv and pip (which cannot date and says so), run as the console script the
//! package installs.
//!
//! The requirement was checked by the plan (`identifier::check`); this module does not check
//! it, and it does not search for Python: the runtime resolver found uv and python.

use std::path::{Path, PathBuf};

use switchboard_registry::DependencyDate;
use switchboard_registry::Runtime;
use switchboard_registry::plan::identifier::fetch_target;
use switchboard_supervisor::helper::HelperCommand as Command;

use super::dated::{self, Dated};
use super::run::run_fetch;
use super::{FetchContext, Fetched, launch};
use crate::install::InstallError;
use crate::install::error::io_error;

pub(super) async fn fetch(
    ctx: &FetchContext<'_>,
    package: &str,
    version: Option<&str>,
) -> Result<Fetched, InstallError> {
    let (runtime, tool) = ctx.need(&[Runtime::Uv, Runtime::Python])?;
    let requirement = fetch_target(&ctx.plan.fetch).unwrap_or_default();
    let venv = ctx.dir.join("venv");
    let dated = if runtime == Runtime::Uv {
        with_uv(ctx, &tool, &venv, &requirement).await?
    } else {
        with_pip(ctx, &tool, &venv, &requirement).await?
    };
    let (script, installed) = console_script(&venv, package)?;
    let mut done = ctx.fetched(
        launch(script, ctx.plan.package_args.clone()),
        version.is_none().then(|| installed.clone()),
        dated.describe(format!("PyPI {package}=={installed} into {}", venv.display())),
    );
    done.notes.extend(dated.note());
    Ok(done)
}

/// `uv venv` (with the python found, if any) and `uv pip install`, dated when the plan is.
async fn with_uv(
    ctx: &FetchContext<'_>,
    uv: &Path,
    venv: &Path,
    requirement: &str,
) -> Result<Dated, InstallError> {
    let mut create = Command::new(uv);
    create.arg("venv").arg("--quiet").arg(venv);
    if let Some(python) = ctx.runtimes.get(Runtime::Python) {
        create.arg("--python").arg(&python.path);
    }
    run_fetch(ctx.helpers, create, "uv venv").await?;
    let python_in_venv = venv_bin(venv, "python");
    let uv_install = |date: Option<&DependencyDate>| {
        let mut install = Command::new(uv);
        install.args(["pip", "install", "--quiet"]);
        if let Some(date) = date {
            install.arg(date.uv_arg());
        }
        install
            .arg("--python")
            .arg(&python_in_venv)
            .arg("--")
            .arg(requirement);
        install
    };
    let what = format!("uv pip install {requirement}");
    let date = ctx.plan.dependencies_as_of.as_ref();
    dated::run(ctx.helpers, date, uv_install, &what).await
}

/// `python -m venv` and the venv's pip, with today's dependencies (pip cannot date them).
async fn with_pip(
    ctx: &FetchContext<'_>,
    python: &Path,
    venv: &Path,
    requirement: &str,
) -> Result<Dated, InstallError> {
    let dated = match &ctx.plan.dependencies_as_of {
        Some(date) => Dated::FellBack(dated::needs_uv(date)),
        None => Dated::Latest,
    };
    let mut create = Command::new(python);
    create.args(["-m", "venv"]).arg(venv);
    run_fetch(ctx.helpers, create, "python -m venv").await?;
    let mut install = Command::new(venv_bin(venv, "python"));
    install
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--",
        ])
        .arg(requirement);
    run_fetch(ctx.helpers, install, &format!("pip install {requirement}")).await?;
    Ok(dated)
}

fn venv_bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// The console script a PyPI package installs (the one named like the package when there are
/// several), and the version installed.
fn console_script(venv: &Path, package: &str) -> Result<(PathBuf, String), InstallError> {
    let wanted = normalize(package);
    let not_found = |detail: String| InstallError::Fetch {
        what: format!("finding the program of PyPI package {package}"),
        detail,
    };
    for dir in site_packages(venv)? {
        for entry in std::fs::read_dir(&dir)
            .map_err(io_error("reading", &dir))?
            .flatten()
        {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = file_name.strip_suffix(".dist-info") else {
                continue;
            };
            let Some((dist, version)) = stem.rsplit_once('-') else {
                continue;
            };
            if normalize(dist) != wanted {
                continue;
            }
            let entry_points =
                std::fs::read_to_string(entry.path().join("entry_points.txt")).unwrap_or_default();
            let scripts = console_scripts(&entry_points);
            let script = scripts
                .iter()
                .find(|s| normalize(s) == wanted)
                .or_else(|| (scripts.len() == 1).then(|| &scripts[0]))
                .ok_or_else(|| {
                    not_found(if scripts.is_empty() {
                        "it installs no console script".to_owned()
                    } else {
                        format!("it installs several console scripts ({})", scripts.join(", "))
                    })
                })?;
            return Ok((venv_bin(venv, script), version.to_owned()));
        }
    }
    Err(not_found(
        "its metadata was not found in the environment".to_owned(),
    ))
}

/// A distribution or script name as compared here: lower case, `-` and `.` read as `_`.
fn normalize(name: &str) -> String {
    name.to_ascii_lowercase().replace(['-', '.'], "_")
}

/// The venv's `site-packages` directories (`lib/python3.X/site-packages`, or `Lib/site-packages`).
fn site_packages(venv: &Path) -> Result<Vec<PathBuf>, InstallError> {
    let lib = if cfg!(windows) {
        venv.join("Lib")
    } else {
        venv.join("lib")
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&lib)
        .map_err(io_error("reading", &lib))?
        .flatten()
    {
        let candidate = if cfg!(windows) {
            entry.path()
        } else {
            entry.path().join("site-packages")
        };
        if candidate.ends_with("site-packages") && candidate.is_dir() {
            found.push(candidate);
        }
    }
    Ok(found)
}

fn console_scripts(entry_points: &str) -> Vec<String> {
    let mut in_section = false;
    let mut scripts = Vec::new();
    for line in entry_points.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[console_scripts]";
        } else if in_section && let Some((name, _)) = line.split_once('=') {
            scripts.push(name.trim().to_owned());
        }
    }
    scripts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_scripts_are_read_from_entry_points() {
        let text =
            "[console_scripts]\nmcp-server-time = mcp_server_time:main\n\n[gui_scripts]\nother = x:y\n";
        assert_eq!(console_scripts(text), ["mcp-server-time"]);
    }
}
