//! Package directories under `<data>/packages/<server>/`: where a version goes, what may be
//! removed, and what npm left undone.
//!
//! A spec's `origin.package_dir` arrives through the API like the rest of the spec, and an
//! update removes it; so [`contained`] holds it to a directory strictly below the server's own
//! `packages/<server>/`, after resolving symbolic links, and [`remove_server`] removes that
//! directory when the server goes. [`skipped_scripts`] reads npm's lockfile for packages whose
//! install scripts `--ignore-scripts` kept from running. Fetching is the installer's.

use std::path::{Component, Path, PathBuf};

use switchboard_model::ServerName;

/// A package directory that is not the server's own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "server {server}: origin.package_dir `{}` is not inside {}; package directories belong to the daemon, which puts them there itself (leave origin.package_dir as `switchboard show {server}` gives it)",
    given.display(),
    root.display()
)]
pub struct PackageDirError {
    pub server: ServerName,
    pub given: PathBuf,
    /// The directory it must lie under: `<data>/packages/<server>`.
    pub root: PathBuf,
}

/// Where version `version` (registry data) of `server` is fetched to: one directory strictly
/// below `<packages>/<server>/`, whatever the version says (`..` becomes `_..`).
pub fn version_dir(packages: &Path, server: &ServerName, version: &str) -> PathBuf {
    let mut segment: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if segment.is_empty() || segment.starts_with('.') {
        segment.insert(0, '_');
    }
    packages.join(server.as_str()).join(segment)
}

/// `dir` resolved, if it lies strictly below `<packages>/<server>/` once `..` and symbolic
/// links are accounted for; it need not exist.
pub fn contained(packages: &Path, server: &ServerName, dir: &Path) -> Result<PathBuf, PackageDirError> {
    let root = packages.join(server.as_str());
    let refuse = || PackageDirError {
        server: server.clone(),
        given: dir.to_path_buf(),
        root: root.clone(),
    };
    let plain = dir.is_absolute()
        && dir.components().all(|c| {
            matches!(
                c,
                Component::Normal(_) | Component::RootDir | Component::Prefix(_)
            )
        });
    if !plain {
        return Err(refuse());
    }
    let resolved = resolve(dir);
    let resolved_root = resolve(&root);
    match resolved.strip_prefix(&resolved_root) {
        Ok(rest) if rest.components().next().is_some() => Ok(resolved),
        _ => Err(refuse()),
    }
}

/// `path` with its longest existing ancestor canonicalised (symbolic links followed) and the
/// rest appended as given.
fn resolve(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            return rest
                .iter()
                .rev()
                .fold(canonical, |acc: PathBuf, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Removes `<packages>/<server>/` and everything in it; a server that never had packages has
/// nothing to remove.
pub async fn remove_server(packages: &Path, server: &ServerName) -> std::io::Result<()> {
    let dir = packages.join(server.as_str());
    // A symbolic link in its place is removed as a link; nothing it points to is touched.
    match tokio::fs::symlink_metadata(&dir).await {
        Ok(meta) if meta.is_dir() => tokio::fs::remove_dir_all(&dir).await,
        Ok(_) => tokio::fs::remove_file(&dir).await,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

/// A warning naming the packages installed into `prefix` whose install scripts did not run,
/// read from npm's `node_modules/.package-lock.json`; none if every package went without.
pub fn skipped_scripts(prefix: &Path) -> Option<String> {
    let lock = std::fs::read(prefix.join("node_modules/.package-lock.json")).ok()?;
    let lock: serde_json::Value = serde_json::from_slice(&lock).ok()?;
    let mut names: Vec<&str> = lock
        .get("packages")?
        .as_object()?
        .iter()
        .filter(|(_, package)| package.get("hasInstallScript").and_then(|v| v.as_bool()) == Some(true))
        .map(|(path, _)| path.rsplit("node_modules/").next().unwrap_or(path))
        .collect();
    if names.is_empty() {
        return None;
    }
    names.sort_unstable();
    Some(format!(
        "the install scripts of {} were not run (Switchboard installs npm packages with --ignore-scripts); if the server does not start, install it again with --allow-scripts",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_dirs_must_lie_below_the_servers_own() {
        let data = tempfile::tempdir().expect("tempdir");
        let packages = data.path().join("packages");
        std::fs::create_dir_all(packages.join("time/1.0")).expect("mkdir");
        std::fs::create_dir_all(packages.join("other/1.0")).expect("mkdir");
        std::fs::create_dir_all(data.path().join("elsewhere")).expect("mkdir");
        #[cfg(unix)]
        std::os::unix::fs::symlink(data.path().join("elsewhere"), packages.join("time/link"))
            .expect("symlink");
        let server = ServerName::new("time").expect("name");
        let at = |rest: &str| packages.join(rest);
        let cases: Vec<(PathBuf, bool)> = vec![
            (at("time/1.0"), true),
            (at("time/2.0"), true),
            (at("time/2.0/deeper"), true),
            (at("time"), false),
            (packages.clone(), false),
            (at("other/1.0"), false),
            (at("time/../other/1.0"), false),
            (at("time/./1.0"), true),
            (at("time/link"), false),
            (at("time/link/inside"), false),
            (data.path().join("elsewhere"), false),
            (PathBuf::from("/"), false),
            (PathBuf::from("packages/time/1.0"), false),
        ];
        for (dir, accepted) in cases {
            let result = contained(&packages, &server, &dir);
            assert_eq!(result.is_ok(), accepted, "{}: {result:?}", dir.display());
        }
    }

    #[test]
    fn every_version_gets_a_directory_of_its_own_below_the_servers() {
        let server = ServerName::new("time").expect("name");
        let cases = [
            ("2026.10.19", "2026.10.19"),
            ("1.0.0-beta+build", "1.0.0-beta+build"),
            ("..", "_.."),
            (".", "_."),
            ("", "_"),
            (".hidden", "_.hidden"),
            ("../../x", "_.._.._x"),
            ("/etc", "_etc"),
            ("a b", "a_b"),
        ];
        for (version, segment) in cases {
            let dir = version_dir(Path::new("/data/packages"), &server, version);
            assert_eq!(dir, Path::new("/data/packages/time").join(segment), "{version:?}");
            assert!(
                contained(Path::new("/data/packages"), &server, &dir).is_ok(),
                "{version:?}"
            );
        }
    }

    #[test]
    fn install_scripts_that_did_not_run_are_named() {
        let prefix = tempfile::tempdir().expect("tempdir");
        assert_eq!(skipped_scripts(prefix.path()), None);
        std::fs::create_dir_all(prefix.path().join("node_modules")).expect("mkdir");
        std::fs::write(
            prefix.path().join("node_modules/.package-lock.json"),
            r#"{"packages": {
                "node_modules/a": {"version": "1.0.0"},
                "node_modules/@s/b": {"version": "1.0.0", "hasInstallScript": true},
                "node_modules/a/node_modules/c": {"hasInstallScript": true}
            }}"#,
        )
        .expect("write");
        let note = skipped_scripts(prefix.path()).expect("a note");
        assert!(note.contains("@s/b, c were not run"), "{note}");
        assert!(note.contains("--allow-scripts"), "{note}");
    }
}
