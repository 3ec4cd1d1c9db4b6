//! Config and install paths that several clients in [`super::table`] compute alike: macOS app
//! bundles, Claude Desktop's file (with Windows' MSIX packages), and VS Code's (or a fork's)
//! per-profile files.
//!
//! Pure functions of an [`Env`]; which client uses which is the table's business.

use crate::env::{Env, OsPath};
use switchboard_model::Os;

/// The paths among `candidates` that exist.
pub(super) fn existing<'a>(env: &Env, candidates: impl IntoIterator<Item = &'a OsPath>) -> Vec<OsPath> {
    candidates
        .into_iter()
        .filter(|p| env.exists(p))
        .cloned()
        .collect()
}

pub(super) fn mac_apps(env: &Env, app: &str) -> Vec<OsPath> {
    if env.os() != Os::MacOs {
        return Vec::new();
    }
    vec![
        OsPath::new(Os::MacOs, "/Applications").join(&format!("{app}.app")),
        env.home().join(&format!("Applications/{app}.app")),
    ]
}

/// Claude Desktop's file. On Windows the MSIX package (the default install since February
/// 2026) reads its own virtualised copy; the old `%APPDATA%` file is then ignored.
pub(super) fn claude_desktop_files(env: &Env) -> Vec<OsPath> {
    const FILE: &str = "claude_desktop_config.json";
    match env.os() {
        Os::MacOs => vec![env.application_support().join("Claude").join(FILE)],
        Os::Linux => vec![env.xdg_config().join("Claude").join(FILE)],
        Os::Windows => {
            let packages = env.local_appdata().join("Packages");
            let in_package = |package: &String| {
                packages
                    .join(package)
                    .join("LocalCache/Roaming/Claude")
                    .join(FILE)
            };
            let installed: Vec<String> = env
                .list_dir(&packages)
                .into_iter()
                .filter(|name| name.starts_with("Claude_"))
                .collect();
            // Several packages (a reinstall from another channel): the one with a config wins.
            let chosen = match installed.as_slice() {
                [] => None,
                [only] => Some(only.clone()),
                several => several
                    .iter()
                    .find(|p| env.exists(&in_package(p)))
                    .or_else(|| several.iter().find(|p| *p == "Claude_pzs8sxrjxfjjc"))
                    .or(several.first())
                    .cloned(),
            };
            match chosen {
                Some(package) => vec![in_package(&package)],
                None => vec![env.appdata().join("Claude").join(FILE)],
            }
        }
    }
}

/// VS Code's (or a fork's) `User` directory.
pub(super) fn vscode_user_dir(env: &Env, product: &str) -> OsPath {
    match env.os() {
        Os::MacOs => env.application_support().join(product).join("User"),
        Os::Windows => env.appdata().join(product).join("User"),
        Os::Linux => env.xdg_config().join(product).join("User"),
    }
}

/// The default profile's `mcp.json` and each other profile's, since each reads only its own.
pub(super) fn vscode_files(env: &Env, product: &str) -> Vec<OsPath> {
    let user = vscode_user_dir(env, product);
    let profiles = user.join("profiles");
    std::iter::once(user.join("mcp.json"))
        .chain(
            env.list_dir(&profiles)
                .into_iter()
                .map(|id| profiles.join(&id).join("mcp.json")),
        )
        .collect()
}
