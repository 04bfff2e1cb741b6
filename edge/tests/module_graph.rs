//! The edge's top-level modules form a graph without cycles, in the order the README's
//! architecture section documents: each module may use only modules of earlier layers or of its
//! own layer (and a use inside one layer must not close a loop). Read from the source: every
//! `crate::name` path in a module's files is a use of `name`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. A module may depend on any module listed before it on the same line or on an
/// earlier line; a module in no layer fails the test, so a new module is placed on purpose.
const LAYERS: &[&[&str]] = &[
    // shared leaf types and utilities
    &[
        "clock",
        "signing",
        "password",
        "metrics",
        "glob",
        "notice",
        "event",
        "visitor_id",
        "fuzz",
    ],
    // configuration as plain data
    &["config"],
    // the domain's data
    &["model"],
    // domain policy
    &[
        "identity",
        "scoring",
        "accounts",
        "alerts",
        "rules",
        "ratelimit",
        "bots",
        "imports",
        "retention",
    ],
    // the tables and the one apply of a log record
    &["engine"],
    // the log backends and the node that reads once for both
    &["store"],
    // services: the outgoing HTTPS client, the collect path, the backend API's operations,
    // webhook delivery
    &["outgoing", "collect", "service", "webhooks", "delivery"],
    // HTTP: routing, handlers, rendering, errors to statuses
    &["http"],
    // the composition root and the accept loop
    &["app", "server", "explain"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module name → the crate-level modules its files name.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph = BTreeMap::new();
    for entry in std::fs::read_dir(src()).expect("read src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        collect_files(&path, &mut files);
        let mut uses = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read source");
            uses.extend(used_modules(&text).into_iter().filter(|m| *m != name));
        }
        graph.insert(name, uses);
    }
    graph
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            collect_files(&entry.expect("entry").path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Every `name` in `crate::name` and in `crate::{name, other::…}`, comments left out (a doc
/// comment may name a module it does not use).
fn used_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    let text = code.as_str();
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        if text[..at].ends_with('$') || text[..at].ends_with("mikomi_edge::") {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: split on commas at depth zero.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

/// A cycle through `start`, if any, as the modules along it.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    walk(graph, start, start, &mut path, &mut seen).then(|| {
        path.push(start.to_string());
        path
    })
}

#[test]
fn the_modules_form_no_cycle() {
    let graph = graph();
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| cycle_from(&graph, m))
        .map(|c| c.join(" → "))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn every_module_uses_only_its_own_or_earlier_layers() {
    let layer_of: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, layer)| layer.iter().map(move |m| (*m, i)))
        .collect();
    let mut wrong = Vec::new();
    for (module, uses) in graph() {
        let Some(&mine) = layer_of.get(module.as_str()) else {
            wrong.push(format!("`{module}` is in no layer: add it to LAYERS"));
            continue;
        };
        for used in uses {
            match layer_of.get(used.as_str()) {
                Some(&theirs) if theirs <= mine => {}
                Some(&theirs) => wrong.push(format!(
                    "`{module}` (layer {mine}) uses `{used}` (layer {theirs}, above it)"
                )),
                None => wrong.push(format!("`{module}` uses `{used}`, which is in no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_reader_sees_uses_in_every_form() {
    let text = "use crate::a::B;\nuse crate::{b, c::{D, E}, d::F};\nlet x = crate::e::f();\n\
                macro_rules! m { () => { $crate::g } }\n/// see `crate::h`\nf(); // crate::i";
    let found: Vec<String> = used_modules(text).into_iter().collect();
    assert_eq!(found, ["a", "b", "c", "d", "e"]);
}

#[test]
fn a_loop_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycle_from(&graph, "a").map(|c| c.join(" → ")),
        Some("a → b → c → a".to_string())
    );
    assert_eq!(cycle_from(&graph, "d"), None);
}
