//! A crate that renames its dependency on ctxvar in `Cargo.toml` (`cv = { package =
//! "ctxvar", .. }`): the code the attributes generate names the runtime as the crate
//! does, so the three attributes, the checks and the carried work all work under the
//! new name, with nothing else to write.
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

const PROGRAM: &str = "
use cv::ContextFutureExt;

#[cv::context_var]
pub static ITEM_ID: u64;

#[cv::context_var(inherit = false)]
pub static TRANSACTION: u64;

#[cv::uses_context(ITEM_ID)]
pub fn read() -> u64 {
    ITEM_ID.get()
}

#[cv::uses_context(ITEM_ID, strict)]
pub async fn strict_read() -> u64 {
    ITEM_ID.get()
}

#[cv::with_context(ITEM_ID = 7)]
pub async fn bound() -> u64 {
    let on_thread = cv::thread::spawn(move || ITEM_ID.get()).join().unwrap();
    let carried = async move { ITEM_ID.get() }.in_current_context().await;
    let in_context = cv::Context::current().run(|| ITEM_ID.get());
    read() + strict_read().await + on_thread + carried + in_context
}
";

#[test]
fn a_renamed_dependency_works_under_its_new_name() {
    let (compiled, stderr) = check(PROGRAM);
    assert!(compiled, "{stderr}");

    // The checks are there under the new name: a read where nothing is bound, and one
    // of an `inherit = false` variable in carried work, are our errors.
    let unbound = format!("{PROGRAM}\npub fn unbound() -> u64 {{ ITEM_ID.get() }}\n");
    let (compiled, stderr) = check(&unbound);
    assert!(!compiled);
    assert!(
        stderr.contains("context variable `ITEM_ID` is read outside a scope that binds it"),
        "{stderr}"
    );
    let not_carried = format!(
        "{PROGRAM}\n#[cv::with_context(TRANSACTION = 1)]\n\
         pub fn not_carried() -> u64 {{ cv::Context::current().run(|| TRANSACTION.get()) }}\n"
    );
    let (compiled, stderr) = check(&not_carried);
    assert!(!compiled);
    assert!(
        stderr.contains("context variable `TRANSACTION` is declared `inherit = false`"),
        "{stderr}"
    );

    // Where the crate root also names it `ctxvar`, both names work.
    let both = format!("extern crate cv as ctxvar;\n{PROGRAM}");
    let (compiled, stderr) = check(&both);
    assert!(compiled, "{stderr}");
}
