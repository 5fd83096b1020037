//! Development tasks for the aplex workspace, run as `cargo xtask <task>`.
//!
//! `main` only dispatches; each task lives in its own module.
//!
//! - `bench [--smoke] [--runs N] [--json PATH] [CASE...]`: measure the pools against the
//!   raw limits and the peers (see `bench.rs`).

mod bench;
mod figures;
mod targets;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") => match bench::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("cargo xtask bench: {message}");
                ExitCode::FAILURE
            }
        },
        None | Some("help" | "--help" | "-h") => {
            println!(
                "usage: cargo xtask <task>\n\ntasks:\n  bench [--smoke] [--runs N] [--json PATH] [CASE...]\n          \
                 measure the pools against the raw limits and the peers\n  help    this message"
            );
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown task `{other}`; run `cargo xtask help`");
            ExitCode::FAILURE
        }
    }
}
