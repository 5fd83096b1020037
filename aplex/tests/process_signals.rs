//! Signals and parents: workers die with a SIGKILLed parent, leave a SIGINT or SIGTERM
//! of their own to the parent (Ctrl-C and an orchestrator's stop reach the whole process
//! group), follow a parent that SIGINT ends, let a parent that handles SIGTERM drain its
//! pool, and start programs with ordinary signal dispositions; a process started with
//! the worker marker but no pool to talk to exits at once, saying why.
//!
//! The parent of a pool is this test binary run again as a helper: with
//! `APLEX_TEST_ROLE=parent`, the `helper_parent_entry_point` test builds a pool, prints
//! its worker pids and waits to be killed.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
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
    // A parent that does not handle SIGINT: its default action, whatever the shell that
    // started the tests left (a background job inherits SIGINT ignored).
    // SAFETY: SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
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

/// Set by the draining helper's SIGTERM handler.
static TERM_RECEIVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    TERM_RECEIVED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Not a check of its own: the body of a helper parent that handles SIGTERM by draining
/// its pool, run when the tests start this binary with `APLEX_TEST_ROLE=drainer`.
#[test]
fn helper_draining_parent_entry_point() {
    if std::env::var(ROLE).as_deref() != Ok("drainer") {
        return;
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGTERM,
            on_sigterm as extern "C" fn(libc::c_int) as usize,
        );
    }
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let napping: Vec<_> = (0..8).map(|_| pool.submit(nap, 300)).collect();
    let pids: Vec<String> = pool
        .worker_pids()
        .into_iter()
        .map(|pid| pid.unwrap().to_string())
        .collect();
    println!("PIDS {}", pids.join(" "));
    while !TERM_RECEIVED.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    pool.shutdown(true);
    let finished = napping
        .into_iter()
        .map(|future| future.result())
        .filter(|result| *result == Ok(300))
        .count();
    println!("DRAINED {finished} restarts {:?}", pool.restarts());
}

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[aplex::work]
fn ignored_signals_of_a_spawned_program(_: ()) -> String {
    let status = Command::new("cat")
        .arg("/proc/self/status")
        .output()
        .expect("cat runs");
    String::from_utf8_lossy(&status.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Starts the helper parent; returns it and its workers' pids.
fn start_helper_parent() -> (Child, Vec<u32>) {
    let (helper, pids, _) = start_helper("parent", "helper_parent_entry_point");
    (helper, pids)
}

/// Starts this binary as helper `role` (its own process group), running test `entry`;
/// returns it, its workers' pids and the rest of its output.
fn start_helper(
    role: &str,
    entry: &str,
) -> (
    Child,
    Vec<u32>,
    std::io::Lines<BufReader<std::process::ChildStdout>>,
) {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([entry, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = helper.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = lines
        .by_ref()
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
    (helper, pids, lines)
}

#[test]
fn sigterm_to_the_process_group_lets_a_parent_that_handles_it_drain_its_pool() {
    let (mut helper, workers, lines) =
        start_helper("drainer", "helper_draining_parent_entry_point");
    // What docker, systemd and Kubernetes do: SIGTERM to the whole process group.
    // SAFETY: kill only sends a signal to the helper's own process group.
    let sent = unsafe { libc::kill(-(helper.id() as libc::pid_t), libc::SIGTERM) };
    assert_eq!(sent, 0);
    let output: Vec<String> = lines.map(Result::unwrap).collect();
    let drained = output
        .iter()
        .find(|line| line.starts_with("DRAINED "))
        .expect("the helper reports its drain");
    assert_eq!(
        drained, "DRAINED 8 restarts [0, 0]",
        "every work finished, no worker died"
    );
    assert!(helper.wait().unwrap().success());
    wait_until("the workers are gone", || {
        workers.iter().all(|&pid| !is_running(pid))
    });
}

#[test]
fn programs_a_work_starts_get_ordinary_signal_dispositions() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let ignored = pool
        .submit(aplex::blocking(ignored_signals_of_a_spawned_program), ())
        .result()
        .unwrap();
    let mask = u64::from_str_radix(&ignored, 16).expect("a hex signal mask");
    let bit = |signal: i32| 1u64 << (signal - 1);
    assert_eq!(
        mask & bit(libc::SIGINT),
        0,
        "SIGINT is not ignored (mask {ignored})"
    );
    assert_eq!(
        mask & bit(libc::SIGTERM),
        0,
        "SIGTERM is not ignored (mask {ignored})"
    );
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
fn sigint_or_sigterm_to_a_worker_alone_does_not_kill_it() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let worker = pool.worker_pids()[0].unwrap();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        send_signal(worker, signal);
        assert_eq!(
            pool.submit(worker_pid, ()).result(),
            Ok(worker),
            "the same process still serves after signal {signal}"
        );
    }
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
