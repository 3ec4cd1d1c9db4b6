//! The workspace's dependency graph as `cargo metadata` resolves it, for the tidy checks: the
//! members, every package's name, and each resolved edge with the kinds cargo gives it; a path
//! from a package to the first packages a predicate picks; and the crate graph that
//! ARCHITECTURE.md declares, compared with the real one line by line.
//!
//! It reads only what cargo resolved (so renames, table syntax, platform tables and
//! transitive arrivals all count) and says nothing about which answers are wrong: the tests in
//! `tidy.rs` decide that.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What an edge is for, as `dep_kinds` says (`null` is a normal dependency).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Normal,
    Build,
    Dev,
}

#[derive(Debug)]
pub struct Graph {
    /// Package id to package name.
    names: BTreeMap<String, String>,
    /// Package id to the folder of its manifest.
    dirs: BTreeMap<String, PathBuf>,
    /// The workspace members' ids, in cargo's order.
    members: Vec<String>,
    /// Package id to its resolved dependencies: (package id, kinds).
    deps: BTreeMap<String, Vec<(String, Vec<Kind>)>>,
}

impl Graph {
    /// Runs `cargo metadata` for the workspace at `root`, every feature on and every platform's
    /// tables included. Offline first; only when that fails (a platform's packages not
    /// downloaded yet) again with the network, still `--locked`.
    pub fn of_workspace(root: &Path) -> Graph {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let run = |offline: bool| {
            let mut command = Command::new(&cargo);
            command
                .current_dir(root)
                .arg("metadata")
                .args(["--format-version", "1", "--all-features", "--locked"])
                .arg("--manifest-path")
                .arg(root.join("Cargo.toml"));
            if offline {
                command.arg("--offline");
            }
            command
                .output()
                .unwrap_or_else(|e| panic!("running {cargo:?} metadata: {e}"))
        };
        let mut out = run(true);
        if !out.status.success() {
            out = run(false);
        }
        assert!(
            out.status.success(),
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("cargo metadata printed no JSON: {e}"));
        Graph::from_metadata(&json).unwrap_or_else(|e| panic!("cargo metadata: {e}"))
    }

    /// Reads `cargo metadata --format-version 1` output (with its `resolve`).
    pub fn from_metadata(json: &Value) -> Result<Graph, String> {
        let mut names = BTreeMap::new();
        let mut dirs = BTreeMap::new();
        for package in list(json, "packages")? {
            let id = text(package, "id")?;
            names.insert(id.to_owned(), text(package, "name")?.to_owned());
            let manifest = Path::new(text(package, "manifest_path")?);
            dirs.insert(id.to_owned(), manifest.parent().unwrap_or(manifest).to_owned());
        }
        let members = list(json, "workspace_members")?
            .iter()
            .map(|m| m.as_str().map(str::to_owned).ok_or("a member that is no string"))
            .collect::<Result<Vec<_>, _>>()?;
        let mut deps = BTreeMap::new();
        for node in list(&json["resolve"], "nodes")? {
            let mut edges = Vec::new();
            for dep in list(node, "deps")? {
                let kinds = list(dep, "dep_kinds")?
                    .iter()
                    .map(|k| match k["kind"].as_str() {
                        None => Ok(Kind::Normal),
                        Some("build") => Ok(Kind::Build),
                        Some("dev") => Ok(Kind::Dev),
                        Some(other) => Err(format!("an unknown dependency kind {other:?}")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                edges.push((text(dep, "pkg")?.to_owned(), kinds));
            }
            deps.insert(text(node, "id")?.to_owned(), edges);
        }
        let dep_ids = deps.values().flatten().map(|(id, _)| id);
        for id in members.iter().chain(deps.keys()).chain(dep_ids) {
            if !names.contains_key(id) {
                return Err(format!("{id} is resolved but not among the packages"));
            }
        }
        Ok(Graph {
            names,
            dirs,
            members,
            deps,
        })
    }

    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// The members' ids and the folders of their manifests.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.members.iter().map(|id| {
            (
                id.as_str(),
                self.dirs.get(id).map_or(Path::new(""), PathBuf::as_path),
            )
        })
    }

    /// Everything built for `root` and its own tests: its normal, build and dev dependencies,
    /// then theirs transitively without dev dependencies (a dependency's tests are not built).
    /// For each package `wanted` picks, one shortest path from `root`, as package names.
    pub fn paths_to(&self, root: &str, wanted: impl Fn(&str) -> bool) -> Vec<Vec<String>> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([root]);
        let mut found = Vec::new();
        while let Some(id) = queue.pop_front() {
            if id != root && wanted(self.name(id)) {
                let mut path = vec![self.name(id).to_owned()];
                let mut at = id;
                while let Some(&up) = parent.get(at) {
                    path.push(self.name(up).to_owned());
                    at = up;
                }
                path.reverse();
                found.push(path);
            }
            for (dep, kinds) in self.deps.get(id).into_iter().flatten() {
                let followed = id == root || kinds.iter().any(|k| *k != Kind::Dev);
                if followed && dep != root && !parent.contains_key(dep.as_str()) {
                    parent.insert(dep, id);
                    queue.push_back(dep);
                }
            }
        }
        found
    }

    /// The members' direct dependencies on other members, by name: normal and build edges,
    /// not dev ones.
    pub fn member_edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let members: BTreeSet<&str> = self.members.iter().map(String::as_str).collect();
        let mut edges = BTreeMap::new();
        for id in &self.members {
            let uses: BTreeSet<String> = self
                .deps
                .get(id)
                .into_iter()
                .flatten()
                .filter(|(dep, kinds)| {
                    members.contains(dep.as_str()) && kinds.iter().any(|k| *k != Kind::Dev)
                })
                .map(|(dep, _)| self.name(dep).to_owned())
                .collect();
            edges.insert(self.name(id).to_owned(), uses);
        }
        edges
    }
}

fn list<'a>(json: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    json[key]
        .as_array()
        .ok_or_else(|| format!("no list `{key}` in {json:.80}"))
}

fn text<'a>(json: &'a Value, key: &str) -> Result<&'a str, String> {
    json[key]
        .as_str()
        .ok_or_else(|| format!("no string `{key}` in {json:.80}"))
}

/// The crate graph ARCHITECTURE.md declares: under its `## Crate graph` heading, one line per
/// workspace crate, `- NAME → DEP, DEP` (or `- NAME → nothing`).
#[derive(Debug)]
pub struct CrateMap {
    /// Crate name to the crates it may use, in the order written.
    lines: BTreeMap<String, Vec<String>>,
}

pub const HEADING: &str = "## Crate graph";

impl CrateMap {
    pub fn parse(architecture: &str) -> Result<CrateMap, String> {
        let section = architecture
            .split_once(&format!("\n{HEADING}\n"))
            .map(|(_, rest)| rest)
            .ok_or_else(|| format!("no `{HEADING}` section"))?;
        let mut lines = BTreeMap::new();
        for line in section.lines().take_while(|l| !l.starts_with("## ")) {
            let Some((name, uses)) = line.strip_prefix("- ").and_then(|l| l.split_once('→')) else {
                continue;
            };
            let name = name.trim().to_owned();
            let uses: Vec<String> = match uses.trim() {
                "nothing" => Vec::new(),
                uses => uses.split(',').map(|u| u.trim().to_owned()).collect(),
            };
            if uses.iter().any(String::is_empty) {
                return Err(format!("an empty name in `{line}`"));
            }
            if lines.insert(name.clone(), uses).is_some() {
                return Err(format!("two lines for {name}"));
            }
        }
        Ok(CrateMap { lines })
    }

    /// Every difference between the map and the real edges, each saying which line to add,
    /// remove or rewrite. Empty when they agree exactly.
    pub fn differences(&self, real: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, uses) in real {
            let Some(listed) = self.lines.get(name) else {
                problems.push(format!("{name} has no line; add `{}`", line(name, uses.iter())));
                continue;
            };
            let listed_set: BTreeSet<&String> = listed.iter().collect();
            let unlisted: Vec<&String> = uses.iter().filter(|u| !listed_set.contains(u)).collect();
            let absent: Vec<&String> = listed.iter().filter(|u| !uses.contains(*u)).collect();
            let corrected = line(
                name,
                listed
                    .iter()
                    .filter(|u| uses.contains(*u))
                    .chain(unlisted.iter().copied()),
            );
            for dep in &unlisted {
                problems.push(format!(
                    "{name} depends on {dep}, which the crate graph does not allow: remove the \
                     dependency, or, if the design changed, make its line `{corrected}`"
                ));
            }
            for dep in &absent {
                problems.push(format!(
                    "the crate graph lets {name} depend on {dep}, but it does not: make its line \
                     `{corrected}`"
                ));
            }
        }
        for (name, uses) in &self.lines {
            if !real.contains_key(name) {
                problems.push(format!(
                    "no workspace crate is called {name}: remove the line `{}`",
                    line(name, uses.iter())
                ));
            }
        }
        problems
    }
}

/// A crate map line, as ARCHITECTURE.md spells it.
pub fn line<'a>(name: &str, uses: impl Iterator<Item = &'a String>) -> String {
    let uses: Vec<&str> = uses.map(String::as_str).collect();
    if uses.is_empty() {
        format!("- {name} → nothing")
    } else {
        format!("- {name} → {}", uses.join(", "))
    }
}
