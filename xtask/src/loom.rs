//! `cargo xtask loom`: the loom model checks of the dispatch protocol and a work's cell
//! (`aplex-core/src/loom_tests.rs`), in aplex-core's `--cfg aplex_loom` build, optimised
//! (loom explores every interleaving) and in a target directory of its own, so the
//! ordinary build is not rebuilt afterwards.

use std::process::Command;

use crate::ci::Stage;
use crate::tidy::workspace_root;

/// Where the loom build goes.
const TARGET_DIR: &str = "target/loom";

fn args() -> Vec<String> {
    [
        "test",
        "-p",
        "aplex-core",
        "--lib",
        "--release",
        "--target-dir",
        TARGET_DIR,
        "loom",
    ]
    .map(String::from)
    .to_vec()
}

/// The model checks as a stage of `cargo xtask ci`.
pub(crate) fn stage() -> Stage {
    Stage {
        what: "loom model checks (cargo xtask loom)",
        program: "cargo",
        args: args(),
        env: vec![("RUSTFLAGS", "--cfg aplex_loom")],
    }
}

/// Runs the model checks.
pub(crate) fn run() -> Result<(), String> {
    let status = Command::new("cargo")
        .args(args())
        .env("RUSTFLAGS", "--cfg aplex_loom")
        .current_dir(workspace_root())
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the loom model checks failed ({status})"))
    }
}
