//! Tidy checks that keep the workspace's boundaries honest: the engine crates never reach the
//! GUI toolkit, the crates depend on each other only as ARCHITECTURE.md's crate graph says,
//! no crate's modules name each other in a circle, and every Rust file starts by saying what it
//! owns. The dependency checks read what cargo
//! resolved (`cargo metadata`, through `tidy/cargo_graph.rs`), not the manifests' text.

#![allow(clippy::expect_used)]

#[path = "tidy/cargo_graph.rs"]
mod cargo_graph;
#[path = "tidy/module_graph.rs"]
mod module_graph;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cargo_graph::{CrateMap, Graph, HEADING};
use serde_json::{Value, json};

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

fn is_tauri(package: &str) -> bool {
    package == "tauri" || package.starts_with("tauri-")
}

/// The engine is every workspace member but the desktop app in `src-tauri`; none may reach a
/// `tauri` or `tauri-*` package by any route cargo resolves: a dependency written in any table
/// syntax, renamed, under a platform or behind a feature, or arriving through another package.
/// The engine's own dev dependencies count too (they are built for its tests).
#[test]
fn engine_crates_never_depend_on_tauri() {
    let graph = Graph::of_workspace(&workspace());
    let desktop = workspace()
        .join("src-tauri")
        .canonicalize()
        .expect("src-tauri exists");
    let (app, engine): (Vec<_>, Vec<_>) = graph
        .members()
        .partition(|(_, dir)| dir.canonicalize().is_ok_and(|d| d == desktop));
    assert_eq!(app.len(), 1, "one member lives in src-tauri: {app:?}");
    assert!(engine.len() >= 6, "the engine's members: {engine:?}");
    // Every crate under crates/ is a member, so the walk below sees it.
    let mut manifests = Vec::new();
    files(&workspace().join("crates"), "Cargo.toml", &mut manifests);
    let unchecked: Vec<_> = manifests
        .iter()
        .filter_map(|m| m.parent()?.canonicalize().ok())
        .filter(|dir| {
            !engine
                .iter()
                .any(|(_, d)| d.canonicalize().is_ok_and(|d| d == *dir))
        })
        .collect();
    assert!(
        unchecked.is_empty(),
        "crates that are no workspace members, so nothing checks them: {unchecked:?}"
    );
    // The walk finds tauri where it is, or this test would pass for the wrong reason.
    assert!(
        !graph.paths_to(app[0].0, is_tauri).is_empty(),
        "the app reaches tauri"
    );

    let offending: Vec<String> = engine
        .iter()
        .flat_map(|(id, _)| graph.paths_to(id, is_tauri))
        .map(|path| path.join(" → "))
        .collect();
    assert!(
        offending.is_empty(),
        "engine crates that reach tauri (only src-tauri may):\n{}",
        offending.join("\n")
    );
}

/// A synthetic `cargo metadata`: the engine reaches tauri through a renamed platform
/// dependency, a dependency's build dependency and its own dev dependency's dependency; a
/// dependency's dev dependency and look-alike names are not reached or not tauri.
#[test]
fn the_tauri_walk_finds_renamed_and_transitive_edges() {
    let package = |name: &str, dir: &str| json!({"id": format!("{name}-id"), "name": name, "manifest_path": format!("/w/{dir}/Cargo.toml")});
    let dep = |name: &str, renamed: &str, kind: Value, target: Value| json!({"name": renamed, "pkg": format!("{name}-id"), "dep_kinds": [{"kind": kind, "target": target}]});
    let node = |name: &str, deps: Vec<Value>| json!({"id": format!("{name}-id"), "deps": deps});
    let null = Value::Null;
    let metadata = json!({
        "packages": [
            package("switchboard-engine", "crates/engine"), package("switchboard-app", "src-tauri"),
            package("tauri", "r/tauri"), package("glue", "r/glue"), package("tauri-utils", "r/tu"),
            package("harness", "r/harness"), package("tauri-macros", "r/tm"),
            package("tauri-plugin-dev", "r/tpd"), package("tauriish", "r/ti"),
            package("not-tauri", "r/nt"),
        ],
        "workspace_members": ["switchboard-engine-id", "switchboard-app-id"],
        "resolve": {"root": null, "nodes": [
            node("switchboard-engine", vec![
                dep("tauri", "gui", null.clone(), json!("cfg(windows)")),
                dep("glue", "glue", null.clone(), null.clone()),
                dep("harness", "harness", json!("dev"), null.clone()),
                dep("tauriish", "tauriish", null.clone(), null.clone()),
                dep("not-tauri", "not_tauri", null.clone(), null.clone()),
            ]),
            node("switchboard-app", vec![dep("tauri", "tauri", null.clone(), null.clone())]),
            node("tauri", vec![]),
            node("glue", vec![
                dep("tauri-utils", "tauri_utils", json!("build"), null.clone()),
                dep("tauri-plugin-dev", "tauri_plugin_dev", json!("dev"), null.clone()),
            ]),
            node("tauri-utils", vec![]),
            node("harness", vec![dep("tauri-macros", "tauri_macros", null.clone(), null.clone())]),
            node("tauri-macros", vec![]), node("tauri-plugin-dev", vec![]),
            node("tauriish", vec![]), node("not-tauri", vec![]),
        ]},
    });
    let graph = Graph::from_metadata(&metadata).expect("the synthetic metadata reads");
    let mut paths: Vec<String> = graph
        .paths_to("switchboard-engine-id", is_tauri)
        .iter()
        .map(|p| p.join(" → "))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "switchboard-engine → glue → tauri-utils",
            "switchboard-engine → harness → tauri-macros",
            "switchboard-engine → tauri",
        ]
    );
    assert_eq!(
        graph.member_edges().into_iter().collect::<Vec<_>>(),
        [
            ("switchboard-app".to_owned(), BTreeSet::new()),
            ("switchboard-engine".to_owned(), BTreeSet::new()),
        ]
    );
}

fn architecture() -> String {
    std::fs::read_to_string(workspace().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md")
}

/// ARCHITECTURE.md's crate graph is exactly the workspace's: every member has a line, every
/// normal or build dependency on another member is listed, and every listed one exists.
/// Dev dependencies are not judged: a crate's tests may drive it through a crate above it.
#[test]
fn the_crate_graph_in_architecture_md_is_the_real_one() {
    let map = CrateMap::parse(&architecture()).unwrap_or_else(|e| panic!("ARCHITECTURE.md: {e}"));
    let real = Graph::of_workspace(&workspace()).member_edges();
    assert!(real.len() >= 8, "the workspace's members: {real:?}");
    let problems = map.differences(&real);
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's `{HEADING}` section and the workspace disagree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_crate_graph_check_names_the_line_to_change() {
    let map = CrateMap::parse(
        "# A\n\n## Crate graph\n\nProse.\n\n- a → nothing\n- b → a\n- c → a, b\n- gone → a\n\n## Next\n- d → a\n",
    )
    .expect("the map parses");
    let real: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec![]),
        ("b", vec!["a", "d"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(name, uses)| (name.to_owned(), uses.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        map.differences(&real),
        [
            "b depends on d, which the crate graph does not allow: remove the dependency, or, if \
             the design changed, make its line `- b → a, d`",
            "the crate graph lets c depend on b, but it does not: make its line `- c → a`",
            "d has no line; add `- d → a`",
            "no workspace crate is called gone: remove the line `- gone → a`",
        ]
    );
    assert!(
        map.differences(&BTreeMap::new()).len() == 4,
        "every line is judged"
    );
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

/// Inside each crate the rooms depend one way: no top-level module reaches back to one that
/// reaches it (`crate::a` in b and `crate::b` in a, or a longer circle).
#[test]
fn no_crate_has_module_circles() {
    let mut sources = Vec::new();
    files(&workspace().join("crates"), "Cargo.toml", &mut sources);
    sources.push(workspace().join("src-tauri/Cargo.toml"));
    let mut circles = Vec::new();
    for manifest in sources {
        let src = manifest.with_file_name("src");
        if !src.is_dir() {
            continue;
        }
        let mut rust = Vec::new();
        files(&src, "rs", &mut rust);
        for circle in module_graph::circles(&module_graph::of_crate(&src, &rust)) {
            circles.push(format!("{}: {}", src.display(), circle.join(" ⇄ ")));
        }
    }
    assert!(
        circles.is_empty(),
        "module circles (move what one of them needs to a leaf):\n{}",
        circles.join("\n")
    );
}

#[test]
fn a_module_circle_is_found() {
    let graph = |edges: &[(&str, &str)]| {
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            graph.entry((*from).into()).or_default().insert((*to).into());
            graph.entry((*to).into()).or_default();
        }
        graph
    };
    let circle = module_graph::circles(&graph(&[
        ("api", "gateway"),
        ("gateway", "door"),
        ("door", "api"),
        ("api", "store"),
    ]));
    assert_eq!(
        circle,
        vec![vec!["api".to_owned(), "door".into(), "gateway".into()]]
    );
    assert!(module_graph::circles(&graph(&[("api", "gateway"), ("gateway", "door")])).is_empty());
}
