//! Development tasks for the aplex workspace, run as `cargo xtask <task>`.
//!
//! `main` only dispatches; each task lives in its own module.
//!
//! - `bench [--smoke] [--runs N] [--json PATH] [--peers python] [--curves] [CASE...]`:
//!   measure the pools against the raw limits and the peers, or the cost curves (see
//!   `bench.rs`).
//! - `ci`: everything a submission must pass (`.ci/run` calls it; see `ci.rs`).
//! - `tidy`: the house rules a compiler does not check (see `tidy.rs`).
//! - `loom`: the loom model checks of the dispatch protocol (see `loom.rs`).
//! - `test`: every test, with a real `nats-server` provided where missing (see `test.rs`).

mod bench;
mod ci;
mod curves;
mod figures;
mod loom;
mod python_peer;
mod targets;
mod test;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("bench") => bench::run(&args[1..]),
        Some("ci") => ci::run(),
        Some("tidy") => tidy::run(),
        Some("loom") => loom::run(),
        Some("test") => test::run(),
        None | Some("help" | "--help" | "-h") => {
            println!(
                "usage: cargo xtask <task>\n\ntasks:\n  bench [--smoke] [--runs N] [--json PATH] [--peers python] [--curves] [CASE...]\n          \
                 measure the pools against the raw limits and the peers (python: Python aplex 1.0.1)\n  ci      everything a submission must pass\n  \
                 tidy    //! headers, file sizes, unused workspace dependencies\n  \
                 loom    the loom model checks of the dispatch protocol\n  \
                 test    every test (installs nats-server as root where missing)\n  help    this message"
            );
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown task `{other}`; run `cargo xtask help`")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cargo xtask {}: {message}", args[0]);
            ExitCode::FAILURE
        }
    }
}
