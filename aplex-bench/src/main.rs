//! The measurements behind `cargo xtask bench`. Each run measures one case — aplex's
//! figure, the raw limit on this machine and a Rust peer's, in the same process run —
//! and prints one `result` line per figure for xtask to collect.
//!
//! `aplex-bench CASE [--smoke]`; `aplex-bench --list` names the cases, `--list-curves`
//! the cost curves (`curves.rs`, run the same way). `--smoke` runs the case at a tiny
//! size, to check that the harness works.
//!
//! The binary is also its own helper process: started with `APLEX_BENCH_ECHO` set it is
//! the raw ipc-channel echo child; started by procspawn it runs procspawn's work.

mod cases;
mod cpu;
mod curves;
mod floors;
mod latency;
mod measure;
mod raw;
mod remote;
mod report;
mod works;

use std::process::ExitCode;

fn main() -> ExitCode {
    raw::become_echo_child_if_asked();
    procspawn::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|arg| arg == "--smoke");
    let Some(case) = args.iter().find(|arg| !arg.starts_with("--")) else {
        if args.iter().any(|arg| arg == "--list") {
            for case in cases::NAMES {
                println!("{case}");
            }
            return ExitCode::SUCCESS;
        }
        if args.iter().any(|arg| arg == "--list-curves") {
            for curve in curves::NAMES {
                println!("{curve}");
            }
            return ExitCode::SUCCESS;
        }
        eprintln!("usage: aplex-bench CASE [--smoke] | --list | --list-curves");
        return ExitCode::FAILURE;
    };
    let outcome = if curves::NAMES.contains(&case.as_str()) {
        curves::run(case, smoke)
    } else {
        cases::run(case, smoke)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("aplex-bench {case}: {message}");
            ExitCode::FAILURE
        }
    }
}
