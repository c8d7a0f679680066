//! The runtime's import graph, read from the sources: the modules of `actors/` import each other
//! without a cycle (actors depend on `messages`, never on one another; only the supervisor knows
//! the actors, as it starts them). That `src/` never imports `actors/` needs no test: the library
//! is a crate the runtime depends on, so such an import does not compile.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without its `#[cfg(test)]` part (unit tests sit at the end of a file; their
/// `super::*` means the file itself).
fn without_tests(source: &str) -> &str {
    source.split("#[cfg(test)]").next().unwrap_or(source)
}

/// Each word that follows `prefix` in `text` (`super::` → `messages`, `plan`, ...).
fn names_after<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &text[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The top-level module of `actors/` each file belongs to, and the ones it imports.
fn actor_graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = root().join("actors");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&dir).unwrap();
        let first = relative.components().next().unwrap();
        let module = Path::new(first.as_os_str())
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if module == "lib" || module == "tests" || module == "test_support" {
            continue; // the crate root (the module list), and test-only code
        }
        let source = std::fs::read_to_string(&file).unwrap();
        let code = without_tests(&source);
        let nested = relative.components().count() > 1;
        let mut imports: BTreeSet<String> = names_after(code, "crate::")
            .into_iter()
            .map(String::from)
            .collect();
        if !nested {
            // In `actors/x.rs`, `super::y` is `actors::y`; in `actors/x/z.rs` it is `x`'s own.
            imports.extend(names_after(code, "super::").into_iter().map(String::from));
        }
        imports.remove(&module);
        graph.entry(module).or_default().extend(imports);
    }
    graph
}

/// A cycle through `at`, if there is one (depth-first search).
fn find_cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    at: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(start) = path.iter().position(|m| m == at) {
        let mut cycle = path[start..].to_vec();
        cycle.push(at.to_string());
        return Some(cycle);
    }
    if done.contains(at) {
        return None;
    }
    path.push(at.to_string());
    for next in graph.get(at).into_iter().flatten() {
        if let Some(cycle) = find_cycle(graph, next, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.insert(at.to_string());
    None
}

#[test]
fn the_modules_of_actors_import_each_other_without_a_cycle() {
    let graph = actor_graph();
    // The graph was read: these edges exist.
    assert!(graph["renderer"].contains("messages"), "{graph:?}");
    assert!(graph["supervisor"].contains("renderer"), "{graph:?}");
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = find_cycle(&graph, module, &mut Vec::new(), &mut done) {
            panic!("import cycle in actors/: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn only_the_supervisor_knows_the_actors() {
    let graph = actor_graph();
    let actors = [
        "auth",
        "cache",
        "exec",
        "fetcher",
        "lease_manager",
        "renderer",
    ];
    for (module, imports) in &graph {
        if module == "supervisor" {
            continue;
        }
        for actor in actors {
            assert!(
                !imports.contains(actor),
                "actors/{module} imports the actor {actor}: it should use actors/messages"
            );
        }
    }
}
