//! The name the crate being compiled gives its dependency on ctxvar in `Cargo.toml`
//! (`cv = { package = "ctxvar", .. }`), so that the expansions name the runtime as the
//! crate does (`::cv::..`) and a renamed dependency works as serde's and tracing's
//! `crate = ..` options let one, with nothing to write.
//!
//! Only `$CARGO_MANIFEST_DIR/Cargo.toml` (and, for a `workspace = true` dependency,
//! the workspace's `Cargo.toml`) is read, line by line, once per manifest. A manifest
//! this does not understand counts as no rename: the expansions then name `::ctxvar`,
//! which also works where the crate root declares `extern crate cv as ctxvar;`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The name the crate being compiled gives ctxvar in `Cargo.toml` (with `-` as `_`),
/// if it is not `ctxvar`.
pub(crate) fn renamed() -> Option<String> {
    // Keyed by manifest: rust-analyzer expands the macros of many crates in one
    // process.
    static CACHE: Mutex<Vec<(PathBuf, Option<String>)>> = Mutex::new(Vec::new());
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, found)) = cache.iter().find(|(known, _)| *known == dir) {
        return found.clone();
    }
    let found = find_rename(&dir);
    cache.push((dir, found.clone()));
    found
}

/// `renamed()` for the package whose manifest is in `dir`.
fn find_rename(dir: &Path) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let workspace = || {
        dir.ancestors()
            .skip(1)
            .filter_map(|parent| std::fs::read_to_string(parent.join("Cargo.toml")).ok())
            .find(|text| text.lines().any(|line| strip(line) == "[workspace]"))
    };
    rename_in(&manifest, workspace)
}

/// The name `manifest` gives ctxvar, if it depends on it under another name and never
/// as `ctxvar`; `workspace` reads the workspace's manifest, for dependencies declared
/// there (`cv = { workspace = true }`).
fn rename_in(manifest: &str, workspace: impl FnOnce() -> Option<String>) -> Option<String> {
    if package_name(manifest).as_deref() == Some("ctxvar") {
        return None;
    }
    let dependencies = dependencies(manifest, false);
    let inherited: Vec<Dependency> = if dependencies.iter().any(|dep| dep.workspace) {
        workspace()
            .map(|root| dependencies_of_workspace(&root))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let package = |dep: &Dependency| -> String {
        let declared = if dep.workspace {
            inherited.iter().find(|root| root.key == dep.key)
        } else {
            Some(dep)
        };
        declared
            .and_then(|declared| declared.package.clone())
            .unwrap_or_else(|| dep.key.clone())
    };
    let mut renamed = None;
    for dep in &dependencies {
        let package = package(dep);
        if dep.key == "ctxvar" {
            // Reachable under its own name (or `ctxvar` is another crate: either way,
            // nothing to say).
            return None;
        }
        // A key that is not an identifier (which cargo would reject) is no rename:
        // the probe names it as one.
        let name = dep.key.replace('-', "_");
        if package == "ctxvar" && renamed.is_none() && syn::parse_str::<syn::Ident>(&name).is_ok() {
            renamed = Some(name);
        }
    }
    renamed
}

/// One dependency as declared: its key, its `package = ".."`, and whether it is
/// `workspace = true`.
#[derive(Debug)]
struct Dependency {
    key: String,
    package: Option<String>,
    workspace: bool,
}

/// `line` without its comment and surrounding spaces.
fn strip(line: &str) -> &str {
    let mut in_string = false;
    for (at, c) in line.char_indices() {
        match c {
            '"' | '\'' => in_string = !in_string,
            '#' if !in_string => return line[..at].trim(),
            _ => {}
        }
    }
    line.trim()
}

/// A key as written, without quotes.
fn unquote(key: &str) -> &str {
    key.trim().trim_matches(|c| c == '"' || c == '\'')
}

/// The string value of `field = "value"` in `text` (a line or an inline table).
fn string_field(text: &str, field: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find(field) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + field.len()..].trim_start();
        rest = &rest[at + field.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            continue;
        }
        if let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let value = &value[1..];
            return value.find(quote).map(|end| value[..end].to_owned());
        }
    }
    None
}

/// Whether `text` says `workspace = true`.
fn is_workspace(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("workspace=true")
}

/// `[package] name = ".."`.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(strip) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && line.starts_with("name") {
            return string_field(line, "name");
        }
    }
    None
}

/// A table of the manifest, as far as dependencies go.
enum Table {
    /// Not about dependencies.
    Other,
    /// `[dependencies]` and the like.
    All,
    /// One dependency's table: `[dependencies.cv]`.
    One(String),
}

/// What `header` (between the brackets) is; `Other` if it is not understood.
fn dependency_table(header: &str, workspace: bool) -> Table {
    table_of(header, workspace).unwrap_or(Table::Other)
}

fn table_of(header: &str, workspace: bool) -> Option<Table> {
    const TABLES: [&str; 5] = [
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "dev_dependencies",
        "build_dependencies",
    ];
    let header = header.trim();
    let rest = if workspace {
        header.strip_prefix("workspace.")?
    } else if let Some(target) = header.strip_prefix("target.") {
        // `target.'cfg(unix)'.dependencies`: the table after the target's key.
        let quoted = target.starts_with(['"', '\'']);
        let end = if quoted {
            target[1..].find(['"', '\''])? + 2
        } else {
            target.find('.')?
        };
        target[end..].strip_prefix('.')?
    } else {
        header
    };
    for table in TABLES {
        if workspace && table != "dependencies" {
            continue;
        }
        if rest == table {
            return Some(Table::All);
        }
        if let Some(key) = rest
            .strip_prefix(table)
            .and_then(|key| key.strip_prefix('.'))
        {
            return Some(Table::One(unquote(key).to_owned()));
        }
    }
    None
}

/// The dependencies declared in `manifest`: in `[dependencies]` and the like, or in
/// `[workspace.dependencies]` if `workspace`.
fn dependencies(manifest: &str, workspace: bool) -> Vec<Dependency> {
    let mut found: Vec<Dependency> = Vec::new();
    let mut table = Table::Other;
    for line in manifest.lines().map(strip) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_start_matches('[').trim_end_matches(']');
            table = dependency_table(header, workspace);
            if let Table::One(key) = &table {
                found.push(Dependency {
                    key: key.clone(),
                    package: None,
                    workspace: false,
                });
            }
            continue;
        }
        match &table {
            Table::Other => {}
            Table::One(_) => {
                let Some(dep) = found.last_mut() else {
                    continue;
                };
                let key = line.split('=').next().map(unquote).unwrap_or_default();
                if key == "package" {
                    dep.package = string_field(line, "package");
                } else if key == "workspace" {
                    dep.workspace |= is_workspace(line);
                }
            }
            Table::All => {
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                // `cv = { .. }`, `cv = "1"`, or dotted: `cv.package = "ctxvar"`.
                let (key, dotted) = match key.split_once('.') {
                    Some((key, field)) => (unquote(key), Some(unquote(field))),
                    None => (unquote(key), None),
                };
                let index = found.iter().position(|dep| dep.key == key);
                let index = index.unwrap_or_else(|| {
                    found.push(Dependency {
                        key: key.to_owned(),
                        package: None,
                        workspace: false,
                    });
                    found.len() - 1
                });
                let dep = &mut found[index];
                match dotted {
                    Some("package") => dep.package = string_field(line, "package"),
                    Some("workspace") => dep.workspace |= value.trim() == "true",
                    Some(_) => {}
                    None => {
                        if let Some(package) = string_field(value, "package") {
                            dep.package = Some(package);
                        }
                        dep.workspace |= is_workspace(value);
                    }
                }
            }
        }
    }
    found
}

fn dependencies_of_workspace(root: &str) -> Vec<Dependency> {
    dependencies(root, true)
}

#[cfg(test)]
mod tests {
    use super::rename_in;

    fn renamed(manifest: &str) -> Option<String> {
        rename_in(manifest, || None)
    }

    #[test]
    fn renames_are_found() {
        let cases = [
            "[dependencies]\ncv = { package = \"ctxvar\", version = \"0.1\" }",
            "[dependencies]\ncv = { version = \"0.1\", package = 'ctxvar' } # renamed",
            "[dependencies.cv]\nversion = \"0.1\"\npackage = \"ctxvar\"",
            "[dependencies]\ncv.package = \"ctxvar\"\ncv.version = \"0.1\"",
            "[dev-dependencies]\ncv = { package = \"ctxvar\", path = \"../ctxvar\" }",
            "[target.'cfg(unix)'.dependencies]\ncv = { package = \"ctxvar\" }",
            "[target.\"cfg(unix)\".dependencies.cv]\npackage = \"ctxvar\"",
            "[package]\nname = \"app\"\n\n[dependencies]\nserde = \"1\"\n\"cv\" = { package = \"ctxvar\" }",
        ];
        for manifest in cases {
            assert_eq!(renamed(manifest).as_deref(), Some("cv"), "{manifest}");
        }
        assert_eq!(
            renamed("[dependencies]\nmy-ctx = { package = \"ctxvar\" }").as_deref(),
            Some("my_ctx")
        );
    }

    #[test]
    fn no_rename_is_found_where_there_is_none() {
        let cases = [
            "[dependencies]\nctxvar = \"0.1\"",
            "[dependencies]\nctxvar = { version = \"0.1\", features = [\"tokio\"] }",
            // Reachable as `ctxvar` as well.
            "[dependencies]\nctxvar = \"0.1\"\n[dev-dependencies]\ncv = { package = \"ctxvar\" }",
            // Not a dependency table.
            "[features]\ncv = { package = \"ctxvar\" }",
            "[package]\nname = \"ctxvar\"\n[dev-dependencies]\ncv = { package = \"ctxvar\" }",
            "[dependencies]\ncv = { package = \"ctxvar-fork\" }",
            "# [dependencies]\n# cv = { package = \"ctxvar\" }",
            "",
        ];
        for manifest in cases {
            assert_eq!(renamed(manifest), None, "{manifest}");
        }
    }

    #[test]
    fn workspace_dependencies_are_followed() {
        let root = "[workspace]\nmembers = [\"app\"]\n\n[workspace.dependencies]\ncv = { package = \"ctxvar\", version = \"0.1\" }";
        for member in [
            "[dependencies]\ncv = { workspace = true }",
            "[dependencies]\ncv.workspace = true",
            "[dependencies.cv]\nworkspace = true",
        ] {
            assert_eq!(
                rename_in(member, || Some(root.to_owned())).as_deref(),
                Some("cv"),
                "{member}"
            );
        }
        let root = "[workspace]\n[workspace.dependencies]\nctxvar = \"0.1\"";
        assert_eq!(
            rename_in("[dependencies]\nctxvar = { workspace = true }", || Some(
                root.to_owned()
            )),
            None
        );
    }

    /// Whatever the manifest, the scan returns.
    #[test]
    fn odd_manifests_do_not_panic() {
        for manifest in [
            "[",
            "[[",
            "]",
            "[target.'cfg(unix).dependencies]",
            "[target.",
            "[dependencies]\n=",
            "[dependencies]\ncv = { package = \"",
            "[dependencies]\ncv = { package = ",
            "[dependencies.]\npackage",
            "[dependencies]\n.package = \"ctxvar\"",
            "[target.\"\"]",
            "[target.'é'.dependencies]\ncv = { package = \"ctxvar\" }",
            "[dependencies]\n9cv = { package = \"ctxvar\" }",
            "[dependencies]\ntype = { package = \"ctxvar\" }",
        ] {
            let _ = renamed(manifest);
        }
    }
}
