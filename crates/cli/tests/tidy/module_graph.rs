//! The module graph inside one crate: which top-level module names which (`crate::name`), read
//! from the source text, and the circles in it.
//!
//! Comments are skipped; a submodule counts as its top-level module, and the crate root
//! (`lib.rs`, `main.rs`) as `(root)`, so only edges between rooms of a crate are seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// For each top-level module of the crate whose sources are under `src`, the modules it names.
pub fn of_crate(src: &Path, files: &[std::path::PathBuf]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Ok(relative) = file.strip_prefix(src) else {
            continue;
        };
        let first = relative
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        let module = match first.as_str() {
            "lib" | "main" => "(root)".to_owned(),
            _ => first,
        };
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let named = graph.entry(module.clone()).or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    named.insert(name);
                }
            }
        }
    }
    graph
}

/// Every circle of two or more modules (strongly connected components), each sorted.
pub fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(module) = todo.pop() {
            for next in graph.get(&module).into_iter().flatten() {
                if graph.contains_key(next) && seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reaches(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for (module, from_here) in &reach {
        let circle: Vec<String> = from_here
            .iter()
            .filter(|other| reach.get(other).is_some_and(|back| back.contains(*module)))
            .cloned()
            .collect();
        if !circle.is_empty() {
            let mut circle = circle;
            if !circle.contains(module) {
                circle.push((*module).clone());
            }
            circle.sort();
            found.insert(circle);
        }
    }
    found.into_iter().collect()
}
