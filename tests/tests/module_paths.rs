//! Inside the runtime crate, a module names a sibling's type by the module that defines
//! it (`crate::stream::ScopeStream`, `crate::key::ContextKey`), never by its re-export
//! at the crate root (`crate::ScopeStream`): the root's `pub use` list is the public
//! API, not a map of the crate, and a path through it hides which module a file
//! depends on. Documentation may link through the public paths.

use std::path::{Path, PathBuf};

/// The names `lib.rs` re-exports from the crate's own modules (`pub use module::..`).
fn root_reexports(lib: &str) -> Vec<String> {
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';')
        })
        .collect();
    let mut names = Vec::new();
    for line in lib.lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains(&module) {
            continue; // another crate's, such as the macros
        }
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            // `a::B`, `B`, `B as C`: the name the root gives it.
            let item = item.trim();
            let name = item
                .rsplit_once(" as ")
                .map_or(item, |(_, alias)| alias)
                .rsplit("::")
                .next()
                .unwrap()
                .trim();
            if !name.is_empty() && name != "_" {
                names.push(name.to_owned());
            }
        }
    }
    names
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

/// Whether `text` at `at` continues an identifier (so `crate::Scope` does not match
/// `crate::ScopeStream`).
fn continues_identifier(text: &str, at: usize) -> bool {
    text[at..]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

#[test]
fn modules_import_siblings_types_from_where_they_are_defined() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("ctxvar/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let names = root_reexports(&lib);
    for expected in ["Scope", "ContextScope", "ContextKey", "ScopeStream"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut through_the_root = Vec::new();
    for file in files {
        // `lib.rs` is where the re-exports are made; the prelude re-exports them.
        if file.ends_with("lib.rs") || file.ends_with("prelude.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            // Comments, documentation and its links (also in `doc = ".."` attributes).
            if code.starts_with("//") || line.contains("doc = ") {
                continue;
            }
            for (at, _) in line.match_indices("crate::") {
                let rest = &line[at + "crate::".len()..];
                let mut paths: Vec<&str> = Vec::new();
                if let Some(group) = rest.strip_prefix('{') {
                    paths.extend(group.split('}').next().unwrap().split(','));
                } else {
                    paths.push(rest);
                }
                for path in paths {
                    let path = path.trim();
                    for name in &names {
                        if path.starts_with(name.as_str())
                            && !continues_identifier(path, name.len())
                        {
                            through_the_root.push(format!(
                                "{}:{}: {}",
                                file.strip_prefix(&src).unwrap().display(),
                                number + 1,
                                line.trim()
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(
        through_the_root.is_empty(),
        "sibling types named through the crate root; import them from their module:\n{}",
        through_the_root.join("\n")
    );
}
