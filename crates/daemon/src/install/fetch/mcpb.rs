//! MCP bundles: downloaded and checked against their SHA-256, unpacked into
//! `<dir>/bundle`, and run as the command their `manifest.json` gives for this platform, with
//! `node`, `python` and `uv` resolved to the runtimes found.
//!
//! The bundle's own settings (`user_config`) are checked against its manifest here; the
//! server.json's form was checked by the plan. Downloading and unpacking are
//! [`super::download`]'s.

use std::path::{Path, PathBuf};

use switchboard_registry::mcpb::{Manifest, ManifestError};
use switchboard_registry::{PlanError, Runtime, Values};

use super::{FetchContext, Fetched, download, launch};
use crate::install::InstallError;

pub(super) async fn fetch(ctx: &FetchContext<'_>, url: &str, sha256: &str) -> Result<Fetched, InstallError> {
    let bytes = download::verified(ctx.http, url, sha256).await?;
    let root = ctx.dir.join("bundle");
    download::unpack(bytes, &root).await?;
    let manifest = read_manifest(ctx, &root).await?;
    check_bundle_values(&manifest, ctx.bundle_values)?;
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let command = manifest
        .command(&root, platform(), &home, ctx.bundle_values)
        .map_err(|source| manifest_error(ctx, source))?;
    let program = match command.program.as_str() {
        "node" => ctx.need(&[Runtime::Node])?.1,
        "python" | "python3" => ctx.need(&[Runtime::Python])?.1,
        "uv" => ctx.need(&[Runtime::Uv])?.1,
        other => PathBuf::from(other),
    };
    let mut done = ctx.fetched(
        launch(program, command.args),
        None,
        format!(
            "bundle {} {} (SHA-256 verified) into {}",
            manifest.name,
            manifest.version,
            root.display()
        ),
    );
    done.env.extend(command.env);
    Ok(done)
}

async fn read_manifest(ctx: &FetchContext<'_>, root: &Path) -> Result<Manifest, InstallError> {
    let bytes = tokio::fs::read(root.join("manifest.json")).await.map_err(|_| {
        manifest_error(
            ctx,
            ManifestError::Invalid("the bundle has no manifest.json at its root".to_owned()),
        )
    })?;
    Manifest::parse(&bytes).map_err(|source| manifest_error(ctx, source))
}

fn manifest_error(ctx: &FetchContext<'_>, source: ManifestError) -> InstallError {
    InstallError::Manifest {
        name: ctx.server.name.clone(),
        source,
    }
}

fn check_bundle_values(manifest: &Manifest, values: &Values) -> Result<(), InstallError> {
    let fields = manifest.fields();
    if let Some(unknown) = values.keys().find(|key| !fields.iter().any(|f| &f.key == *key)) {
        return Err(PlanError::UnknownInput {
            key: unknown.clone(),
            known: fields
                .iter()
                .map(|f| f.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| f.required && f.default.is_none() && !values.contains_key(&f.key))
        .map(|f| f.key.clone())
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::MissingInputs { keys: missing }.into());
    }
    Ok(())
}

/// The platform name bundle manifests use (Node's `process.platform`).
fn platform() -> &'static str {
    if cfg!(target_os = "macos") {
        "darwin"
    } else if cfg!(windows) {
        "win32"
    } else {
        "linux"
    }
}
