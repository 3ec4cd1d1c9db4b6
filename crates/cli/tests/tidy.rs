//! Tidy checks that keep the workspace's boundaries honest: the engine crates never depend on
//! the GUI toolkit, and every Rust file starts by saying what it owns.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, extension: &str, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir()
            && name != "target"
            && name != "node_modules"
            && !name.to_string_lossy().starts_with('.')
        {
            files(&path, extension, found);
        } else if path.extension().is_some_and(|e| e == extension) || name == extension {
            found.push(path);
        }
    }
}

#[test]
fn engine_crates_never_depend_on_tauri() {
    let mut manifests = Vec::new();
    files(&workspace().join("crates"), "Cargo.toml", &mut manifests);
    assert!(manifests.len() >= 3, "found the crates' manifests: {manifests:?}");
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).expect("readable manifest");
        let offending: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("tauri"))
            .collect();
        assert!(
            offending.is_empty(),
            "{} depends on tauri: {offending:?}",
            manifest.display()
        );
    }
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut sources = Vec::new();
    files(&workspace().join("crates"), "rs", &mut sources);
    if workspace().join("src-tauri").exists() {
        files(&workspace().join("src-tauri"), "rs", &mut sources);
    }
    let missing: Vec<String> = sources
        .iter()
        .filter(|p| p.components().all(|c| c.as_os_str() != "target"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` module doc: {missing:#?}"
    );
}
