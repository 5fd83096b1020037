//! Signals and parents: workers die with a SIGKILLed parent, ignore a SIGINT of their
//! own (Ctrl-C is the parent's to handle), and follow a parent that SIGINT ends; a
//! process started with the worker marker but no pool to talk to exits at once, saying
//! why.
//!
//! The parent of a pool is this test binary run again as a helper: with
//! `APLEX_TEST_ROLE=parent`, the `helper_parent_entry_point` test builds a pool, prints
//! its worker pids and waits to be killed.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aplex::ProcessAsyncPoolExecutor;
use common::{is_running, send_signal, wait_until};

#[aplex::work]
async fn worker_pid(_: ()) -> u32 {
    std::process::id()
}

const ROLE: &str = "APLEX_TEST_ROLE";

/// Not a check of its own: the body of the helper parent process, run only when the
/// tests below start this binary with `APLEX_TEST_ROLE=parent`.
#[test]
fn helper_parent_entry_point() {
    if std::env::var(ROLE).as_deref() != Ok("parent") {
        return;
    }
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let pids: Vec<String> = pool
        .worker_pids()
        .into_iter()
        .map(|pid| pid.unwrap().to_string())
        .collect();
    println!("PIDS {}", pids.join(" "));
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Starts the helper parent; returns it and its workers' pids.
fn start_helper_parent() -> (Child, Vec<u32>) {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "helper_parent_entry_point",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, "parent")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = helper.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find(|line| line.contains("PIDS "))
        .expect("the helper prints its workers' pids");
    let pids: Vec<u32> = line
        .split("PIDS ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    assert!(pids.iter().all(|&pid| is_running(pid)));
    (helper, pids)
}

#[test]
fn the_workers_of_a_sigkilled_parent_are_gone() {
    let (mut helper, workers) = start_helper_parent();
    send_signal(helper.id(), libc::SIGKILL);
    assert_eq!(helper.wait().unwrap().signal(), Some(libc::SIGKILL));
    wait_until("the orphaned workers are gone", || {
        workers.iter().all(|&pid| !is_running(pid))
    });
}

#[test]
fn sigint_to_a_parent_that_does_not_handle_it_ends_it_and_its_workers() {
    let (mut helper, workers) = start_helper_parent();
    send_signal(helper.id(), libc::SIGINT);
    assert_eq!(helper.wait().unwrap().signal(), Some(libc::SIGINT));
    wait_until("the workers followed their parent", || {
        workers.iter().all(|&pid| !is_running(pid))
    });
}

#[test]
fn sigint_to_a_worker_alone_does_not_kill_it() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let worker = pool.worker_pids()[0].unwrap();
    send_signal(worker, libc::SIGINT);
    assert_eq!(
        pool.submit(worker_pid, ()).result(),
        Ok(worker),
        "the same process still serves"
    );
    assert!(is_running(worker));
    assert_eq!(pool.restarts(), [0]);
}

#[test]
fn a_marked_process_with_no_pool_exits_at_once_saying_why() {
    let output = Command::new(std::env::current_exe().unwrap())
        .env("APLEX_PROCESS_WORKER", "/nonexistent/aplex-server")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(70));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach the aplex pool"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "the test harness never ran in the marked process"
    );
}

/// The marker a worker was started with, as another local process can read it.
fn marker_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ
        .split(|&byte| byte == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| {
            entry
                .strip_prefix("APLEX_PROCESS_WORKER=")
                .map(str::to_owned)
        })
}

#[test]
fn a_second_process_cannot_join_a_pool() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let worker = pool.worker_pids()[0].unwrap();
    // Another local process can read the server name the worker was started with...
    let server = marker_of(worker).expect("the worker's initial environment names its server");
    // ...but that one-shot server was consumed by the worker's handshake, and the
    // channels in use are anonymous socket pairs: there is nothing left to connect to.
    let intruder = Command::new(std::env::current_exe().unwrap())
        .env("APLEX_PROCESS_WORKER", &server)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        intruder.status.code(),
        Some(70),
        "the intruder cannot connect"
    );
    assert!(String::from_utf8_lossy(&intruder.stderr).contains("cannot reach the aplex pool"));
    assert_eq!(
        pool.submit(worker_pid, ()).result(),
        Ok(worker),
        "the pool is untouched"
    );
    assert_eq!(pool.restarts(), [0]);
}
