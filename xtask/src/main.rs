//! Development tasks for the aplex workspace, run as `cargo xtask <task>`.
//!
//! `main` only dispatches; each task lives in its own module. Tasks so far: none beyond
//! `help` — `bench` arrives with the benchmark issue.

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        None | Some("help" | "--help" | "-h") => {
            println!("usage: cargo xtask <task>\n\ntasks:\n  help    this message");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown task `{other}`; run `cargo xtask help`");
            ExitCode::FAILURE
        }
    }
}
