//! `cargo xtask bench --peers python`: Python aplex 1.0.1 — the library this one
//! re-creates — run on the same cases in the same run. A virtual environment with
//! `aplex==1.0.1` is made once under `target/bench/` (pip, from the package index);
//! `xtask/python/aplex_peer.py` runs each case there on aplex's process and thread
//! pools (pool size 2, the same works and counts) and prints figures as the bench binary
//! does. Each of ours then gets a `<case>_vs_python` figure: ours against Python's.
//! Without `python3` (or without the index) this says so in one line and the rest runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::figures::{parse, Figure};

/// The Python aplex this compares with.
const APLEX: &str = "aplex==1.0.1";

/// The venv's Python with aplex installed, made under `target` if missing; `None` (said
/// in one line) if that cannot be done here.
pub(crate) fn prepare(target: &Path) -> Option<PathBuf> {
    let venv = target.join("bench").join("python-aplex-1.0.1");
    let python = venv.join("bin").join("python");
    let installed = venv.join("installed");
    if installed.exists() {
        return Some(python);
    }
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("bench: python3 is not installed; the Python aplex peer is skipped");
        return None;
    }
    eprintln!("bench: making {} with {APLEX} (once)", venv.display());
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|status| status.success());
    let pip = || {
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", APLEX])
            .status()
            .is_ok_and(|status| status.success())
    };
    if !made || !pip() {
        eprintln!(
            "bench: cannot make a venv with {APLEX} (python3 -m venv, then pip); \
             the Python aplex peer is skipped"
        );
        return None;
    }
    let _ = std::fs::write(&installed, APLEX);
    Some(python)
}

/// Python aplex's figures for `case` (none if it has no counterpart), named
/// `python_<figure>`; at the smoke sizes if `smoke`.
pub(crate) fn run_case(python: &Path, case: &str, smoke: bool) -> Result<Vec<Figure>, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("aplex_peer.py");
    let mut command = Command::new(python);
    command.arg(&script).arg(case);
    if smoke {
        command.arg("--smoke");
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "Python aplex failed on {case} ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut figures = parse(&String::from_utf8_lossy(&output.stdout));
    for figure in &mut figures {
        figure.name = format!("python_{}", figure.name);
    }
    Ok(figures)
}

/// For each of our figures Python aplex has too: `<name>_vs_python`, ours against
/// Python's as the peer.
pub(crate) fn versus(figures: &[Figure]) -> Vec<Figure> {
    figures
        .iter()
        .filter_map(|python| {
            let name = python.name.strip_prefix("python_")?;
            let ours = figures.iter().find(|figure| figure.name == name)?;
            Some(Figure {
                name: format!("{name}_vs_python"),
                unit: ours.unit.clone(),
                ours: ours.ours,
                limit: None,
                peer: Some(python.ours),
                ours_range: ours.ours_range,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(name: &str, ours: f64) -> Figure {
        Figure {
            name: name.into(),
            unit: "us".into(),
            ours,
            limit: Some(1.0),
            peer: None,
            ours_range: None,
        }
    }

    #[test]
    fn each_figure_python_has_is_set_against_it() {
        let figures = [
            figure("process_latency_median", 20.0),
            figure("startup", 5.0),
            figure("python_process_latency_median", 400.0),
            figure("python_unmatched", 1.0),
        ];
        let versus = versus(&figures);
        assert_eq!(versus.len(), 1);
        assert_eq!(versus[0].name, "process_latency_median_vs_python");
        assert_eq!((versus[0].ours, versus[0].peer), (20.0, Some(400.0)));
        assert_eq!(versus[0].limit, None);
    }
}
