//! `cargo xtask tidy`: the house rules a compiler does not check — every Rust file opens
//! with a `//!` paragraph, no Rust file is over 500 lines, and every workspace dependency
//! is used by some member.

use std::fs;
use std::path::{Path, PathBuf};

/// The most lines a Rust file may have.
const MAX_LINES: usize = 500;

/// Runs every check from the workspace root; the error lists every breach.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let mut breaches = Vec::new();
    let files = rust_files(&root);
    for file in &files {
        check_file(&root, file, &mut breaches);
    }
    check_dependencies(&root, &mut breaches);
    if breaches.is_empty() {
        println!(
            "tidy: {} Rust files and the workspace dependencies are in order",
            files.len()
        );
        Ok(())
    } else {
        Err(format!(
            "{} breach(es):\n  {}",
            breaches.len(),
            breaches.join("\n  ")
        ))
    }
}

/// The workspace root: the parent of this crate's directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn check_file(root: &Path, file: &Path, breaches: &mut Vec<String>) {
    let shown = file.strip_prefix(root).unwrap_or(file).display();
    let Ok(text) = fs::read_to_string(file) else {
        breaches.push(format!("{shown}: cannot be read"));
        return;
    };
    if !text.starts_with("//!") {
        breaches.push(format!("{shown}: does not open with a `//!` paragraph"));
    }
    let lines = text.lines().count();
    if lines > MAX_LINES {
        breaches.push(format!(
            "{shown}: {lines} lines (at most {MAX_LINES}); split it by concept"
        ));
    }
}

/// Every `.rs` file of the workspace outside `target/` and hidden directories.
fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    dirs.push(path);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Each name under `[workspace.dependencies]` must appear in some member's manifest.
fn check_dependencies(root: &Path, breaches: &mut Vec<String>) {
    let Ok(manifest) = fs::read_to_string(root.join("Cargo.toml")) else {
        breaches.push("Cargo.toml: cannot be read".into());
        return;
    };
    let members: Vec<String> = member_manifests(root, &manifest)
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .collect();
    for name in workspace_dependencies(&manifest) {
        let used = members.iter().any(|text| {
            text.lines().any(|line| {
                let line = line.trim_start();
                line.starts_with(&format!("{name} ")) || line.starts_with(&format!("{name}="))
            })
        });
        if !used {
            breaches.push(format!(
                "Cargo.toml: workspace dependency `{name}` is used by no member"
            ));
        }
    }
}

/// The names declared in the `[workspace.dependencies]` table.
fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut in_table = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[workspace.dependencies]";
        } else if in_table && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_owned());
            }
        }
    }
    names
}

/// The manifests of the members listed in `[workspace] members`.
fn member_manifests(root: &Path, manifest: &str) -> Vec<PathBuf> {
    let Some(start) = manifest.find("members = [") else {
        return Vec::new();
    };
    let list = &manifest[start..];
    let end = list.find(']').unwrap_or(list.len());
    list[..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|member| root.join(member).join("Cargo.toml"))
        .collect()
}
