//! `cargo xtask ci`: everything a submission must pass, in the order `.ci/run` (which
//! calls this) always ran it, plus the tidy check and the loom model checks.

use std::path::Path;
use std::process::Command;

use crate::tidy::workspace_root;

/// One stage: what it checks, and the command (program and arguments, extra
/// environment).
pub(crate) struct Stage {
    pub(crate) what: &'static str,
    pub(crate) program: &'static str,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(&'static str, &'static str)>,
}

fn cargo(what: &'static str, args: &[&str]) -> Stage {
    Stage {
        what,
        program: "cargo",
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        env: Vec::new(),
    }
}

/// Runs every stage from the workspace root, stopping at the first that fails.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    println!("== tidy (//! headers, file sizes, unused workspace dependencies)");
    crate::tidy::run()?;
    for stage in stages(&root) {
        println!("== {}", stage.what);
        let status = Command::new(stage.program)
            .args(&stage.args)
            .envs(stage.env.iter().copied())
            .current_dir(&root)
            .status()
            .map_err(|error| format!("{}: cannot run {}: {error}", stage.what, stage.program))?;
        if !status.success() {
            return Err(format!("{} failed ({status})", stage.what));
        }
    }
    println!("== ci: every stage passed");
    Ok(())
}

fn stages(root: &Path) -> Vec<Stage> {
    let mut stages = vec![
        cargo("cargo fmt --check", &["fmt", "--all", "--check"]),
        cargo(
            "cargo clippy (warnings denied)",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo(
            "cargo clippy of the tests that need nats-server (warnings denied)",
            &[
                "clippy",
                "--workspace",
                "--features",
                "aplex/server-tests,aplex-remote/server-tests",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo(
            "the lower crates alone, each with its default features (warnings denied)",
            &[
                "clippy",
                "-p",
                "aplex-core",
                "-p",
                "aplex-balance",
                "-p",
                "aplex-thread",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo(
            "the facade with only its thread pool, as on a platform without processes \
             (warnings denied)",
            &[
                "clippy",
                "-p",
                "aplex",
                "--no-default-features",
                "--features",
                "thread",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo(
            "cargo xtask test (the README's test command: every test, a nats-server provided)",
            &["xtask", "test"],
        ),
        cargo(
            "the progress feature",
            &[
                "test",
                "-p",
                "aplex",
                "--features",
                "progress",
                "--test",
                "map_progress",
            ],
        ),
        cargo(
            "the progress bar's ETA",
            &[
                "test",
                "-p",
                "aplex-core",
                "--features",
                "progress",
                "--lib",
                "progress",
            ],
        ),
        crate::loom::stage(),
        Stage {
            what: "rust-version",
            program: "python3",
            args: vec![".ci/check-rust-version.py".into()],
            env: Vec::new(),
        },
        cargo(
            "quickstart example (the README's first command)",
            &["run", "--release", "--example", "quickstart"],
        ),
    ];
    for example in examples(root) {
        // The remote examples need the `remote` feature (and a nats-server, which the
        // test stage has provided by now).
        let mut args: Vec<String> = ["run", "--release", "--example", &example]
            .map(String::from)
            .to_vec();
        if example.starts_with("remote") {
            args.extend(["--features".to_owned(), "remote".to_owned()]);
        }
        stages.push(Stage {
            what: "an example",
            program: "cargo",
            args,
            env: Vec::new(),
        });
    }
    stages.push(Stage {
        what: "cargo doc (warnings denied)",
        program: "cargo",
        args: ["doc", "--workspace", "--no-deps"]
            .map(String::from)
            .to_vec(),
        env: vec![("RUSTDOCFLAGS", "-D warnings")],
    });
    stages.push(cargo(
        "cargo xtask bench --smoke (checks the harness, not the numbers)",
        &["xtask", "bench", "--smoke"],
    ));
    stages
}

/// Every example of the facade but the quickstart, by name.
fn examples(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("aplex/examples"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    entry
                        .file_name()
                        .to_str()?
                        .strip_suffix(".rs")
                        .map(str::to_owned)
                })
                .filter(|name| name != "quickstart")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
