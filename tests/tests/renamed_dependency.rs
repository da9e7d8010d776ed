//! A crate that renames its dependency on ctxvar in `Cargo.toml` (`cv = { package =
//! "ctxvar", .. }`): the code the attributes generate names the crate `ctxvar`, so
//! `#[context_var]` gives one error that says so and how to fix it, and none once the
//! crate root declares `extern crate cv as ctxvar;`.
//!
//! trybuild cannot show this (it names the dependency `ctxvar` itself), so the test
//! builds a crate of its own with `cargo check`, offline, with the workspace's lock
//! file, in a target directory of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

const MANIFEST: &str = r#"[package]
name = "renamed-dependency"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
cv = { package = "ctxvar", path = "CTXVAR", default-features = false }

[workspace]
"#;

/// `cargo check` of a crate whose `src/lib.rs` is `lib`: whether it compiled, and its
/// diagnostics (`--message-format short`).
fn check(lib: &str) -> (bool, String) {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("renamed-dependency");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let ctxvar = workspace.join("ctxvar");
    let manifest = MANIFEST.replace("CTXVAR", ctxvar.to_str().unwrap());
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    }
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet", "--message-format", "short"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stderr)
}

const DECLARATION: &str = "
#[cv::context_var]
pub static ITEM_ID: u64;

pub fn read() -> Option<u64> {
    ITEM_ID.try_get().ok()
}
";

#[test]
fn renamed_dependency() {
    // One error, ours, at the attribute: the variable itself is declared through `cv`.
    let (compiled, stderr) = check(DECLARATION);
    assert!(!compiled, "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error") && !line.starts_with("error: could not compile"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("src/lib.rs:2:1: error[E0277]: ctxvar is a dependency named `cv` in Cargo.toml, but the code that `#[context_var]` generates names it `ctxvar`"),
        "{stderr}"
    );

    // The fix the error names, with the other attributes, whose code names `ctxvar`.
    let fixed = format!(
        "extern crate cv as ctxvar;\n{DECLARATION}\n\
         #[ctxvar::with_context(ITEM_ID = 7)]\n\
         pub fn bound() -> u64 {{ ITEM_ID.get() }}\n"
    );
    let (compiled, stderr) = check(&fixed);
    assert!(compiled, "{stderr}");
}
