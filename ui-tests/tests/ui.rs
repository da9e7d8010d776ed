//! Compile-fail and compile-pass fixtures for ctxvar's macros.
//!
//! The `.stderr` snapshots are rustc's exact output, recorded with rustc 1.95.0 (the
//! one toolchain of this project's machines), so the test runs on exactly that stable
//! release and is ignored on any other. See `ui-tests/README.md` to update them.

use std::path::{Path, PathBuf};

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "UI snapshots are recorded with rustc 1.95; see ui-tests/README.md"
)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/**/*.rs");
    t.pass("tests/ui/pass/**/*.rs");
}

/// Every `.stderr` snapshot under `tests/ui/fail`.
fn snapshots() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "stderr") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("tests/ui/fail"), &mut found);
    assert!(found.len() > 30, "the fixtures were not found");
    found
}

/// rustc quotes the standard library's source in a note only when the `rust-src`
/// component is installed (as it is for most contributors, for rust-analyzer), so a
/// snapshot that points into it passes on one machine and fails on the next. Such a
/// fixture must be written so that its notes point at its own code.
#[test]
fn no_snapshot_points_into_the_standard_library() {
    for (path, text) in snapshots() {
        assert!(
            !text.contains("$RUST/"),
            "{} points into the standard library's source: its output depends on \
             whether `rust-src` is installed; restructure the fixture",
            path.display()
        );
    }
}

/// An error the user sees names only what the user wrote or can look up: never the
/// hidden items the macros expand to.
#[test]
fn no_snapshot_names_the_expansions_internals() {
    const INTERNAL: &[&str] = &["__private", "__ctxvar", "Uninhabited", "Anchor", "Provided"];
    for (path, text) in snapshots() {
        for word in INTERNAL {
            assert!(
                !text.contains(word),
                "{} mentions `{word}`, an internal of the expansion:\n{text}",
                path.display()
            );
        }
    }
}
