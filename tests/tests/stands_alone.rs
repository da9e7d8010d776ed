//! The repository stands alone: no file cites a specification section or a path of
//! notes that only existed where the project was developed. Comments and docs say
//! what they mean, or point to the crate docs and README.md.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What must not come back. Spelled in pieces so that this file does not match.
const FORBIDDEN: [&str; 2] = [concat!("SPEC", " §"), concat!("shared", "/research")];

/// The files to check: git's tracked files when git is available, else every file
/// under the workspace root except `target/` and `.git`.
fn files(root: &Path) -> Vec<PathBuf> {
    let tracked = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output();
    if let Some(output) = tracked.ok().filter(|output| output.status.success()) {
        return output
            .stdout
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
            .collect();
    }
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if name == "target" || name == ".git" {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn no_file_cites_the_specification_or_research_notes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let files = files(root);
    assert!(
        files.iter().any(|f| f.ends_with("README.md")),
        "no files found under {}",
        root.display()
    );
    let mut hits = Vec::new();
    for file in &files {
        // A tracked file deleted in the work tree is not there to read.
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            if FORBIDDEN.iter().any(|pattern| line.contains(pattern)) {
                hits.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(root).unwrap_or(file).display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "say what is meant instead of citing the specification or notes:\n{}",
        hits.join("\n")
    );
}

/// Where `text` links to: inline links and images (`[text](target)`, `![alt](target)`),
/// reference definitions (`[label]: target`) and HTML `src`/`href` attributes.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            targets.push(after[..end].to_owned());
            rest = &after[end..];
        }
        let trimmed = line.trim_start();
        if let Some(at) = trimmed.find("]: ").filter(|_| trimmed.starts_with('[')) {
            targets.push(trimmed[at + 3..].trim().to_owned());
        }
        for attribute in ["src=\"", "href=\""] {
            let mut rest = line;
            while let Some(at) = rest.find(attribute) {
                let after = &rest[at + attribute.len()..];
                let end = after.find('"').unwrap_or(after.len());
                targets.push(after[..end].to_owned());
                rest = &after[end..];
            }
        }
    }
    targets
}

/// crates.io shows a package's README with relative links resolved against the
/// package's directory, where the root README.md's relative links (and the macros
/// crate's) would break: every link and image in them is absolute.
#[test]
fn the_readmes_link_only_to_absolute_urls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut relative = Vec::new();
    for readme in ["README.md", "ctxvar-macros/README.md"] {
        let text = std::fs::read_to_string(root.join(readme)).unwrap();
        let targets = link_targets(&text);
        assert!(!targets.is_empty(), "{readme}: no links found");
        for target in targets {
            if !(target.starts_with("https://") || target.starts_with('#')) {
                relative.push(format!("{readme}: {target}"));
            }
        }
    }
    assert!(
        relative.is_empty(),
        "links that break on crates.io (use https://github.com/ctxvar/ctxvar/blob/main/...):\n{}",
        relative.join("\n")
    );
}
