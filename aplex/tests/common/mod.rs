//! Helpers shared by the integration tests: waiting on a condition with a deadline,
//! gates that hold works until a test opens them, drop counters, and thread listing.
#![allow(dead_code)] // each test binary uses its own subset of these helpers
#![allow(unreachable_pub)] // `pub` here means "shared by the test binaries", which is all it can mean

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long any test waits for a condition before failing (a hang detector, not a
/// timing assertion: conditions normally hold within milliseconds).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until `condition` holds, failing the test with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A gate async works wait at until the test opens it.
#[derive(Clone)]
pub struct Gate {
    semaphore: Arc<tokio::sync::Semaphore>,
}

impl Gate {
    pub fn new() -> Self {
        Gate {
            semaphore: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }

    /// Waits until the gate is open.
    pub async fn pass(&self) {
        let _permit = self.semaphore.acquire().await.expect("gate never closes");
    }

    /// Lets every waiting and future work through.
    pub fn open(&self) {
        self.semaphore
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

/// A gate blocking works wait at until the test opens it.
#[derive(Clone, Default)]
pub struct BlockingGate {
    open: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl BlockingGate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn pass(&self) {
        let (lock, condvar) = &*self.open;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = condvar.wait(open).unwrap();
        }
    }

    pub fn open(&self) {
        let (lock, condvar) = &*self.open;
        *lock.lock().unwrap() = true;
        condvar.notify_all();
    }
}

/// Counts how many times it is dropped: put one in a work's future to see it aborted.
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The current thread's name, as seen from inside a work.
pub fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

/// The names of this process's live threads (from `/proc/self/task`).
pub fn live_thread_names() -> Vec<String> {
    live_thread_names_of("self")
}

/// The names of the live threads of process `pid` (a number, or `self`), as the kernel
/// keeps them (15 bytes at most).
///
/// A listing of `/proc/<pid>/task` stops early when the thread it has reached exits
/// meanwhile (the kernel walks the thread list from it), so a listing taken while other
/// threads come and go can miss live ones. A listing counts only when it holds as many
/// threads as `/proc/<pid>/status` says there are, before and after it.
pub fn live_thread_names_of(pid: &str) -> Vec<String> {
    loop {
        let before = thread_count(pid);
        let names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("/proc/<pid>/task is readable")
            .filter_map(|entry| {
                let path = entry.ok()?.path().join("comm");
                Some(std::fs::read_to_string(path).ok()?.trim().to_owned())
            })
            .collect();
        if before == names.len() && thread_count(pid) == before {
            return names;
        }
        std::thread::yield_now();
    }
}

/// Process `pid`'s thread count, from `/proc/<pid>/status`.
fn thread_count(pid: &str) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc/<pid>/status is readable")
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a Threads: line")
}

/// How many live threads of this process have a name starting with `prefix`.
pub fn threads_named(prefix: &str) -> usize {
    live_thread_names()
        .iter()
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// The pids of this process's live (non-zombie) children.
pub fn live_children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            process_stat(pid).is_some_and(|(state, parent)| parent == me && state != 'Z')
        })
        .collect()
}

/// Whether `pid` is a running (not zombie, not gone) process.
pub fn is_running(pid: u32) -> bool {
    process_stat(pid).is_some_and(|(state, _)| state != 'Z')
}

/// `(state, parent pid)` of `pid`, from `/proc/PID/stat`.
fn process_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// How many file descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Sends `signal` to `pid`.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill only sends a signal to a pid the test owns.
    let result = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(result, 0, "kill({pid}, {signal}) failed");
}

/// Sends `signal` to `pid` if it is a live child of this process, and says whether it
/// did. Safe against the races of killing at random: a child that exited (or was reaped,
/// its pid perhaps taken by another process) since its pid was read is not signalled.
/// The signal goes through a pidfd opened while the pid was seen to be our live child.
pub fn signal_live_child(pid: u32, signal: i32) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if pidfd < 0 {
        return false;
    }
    let pidfd = pidfd as libc::c_int;
    let me = std::process::id();
    let ours = process_stat(pid).is_some_and(|(state, parent)| parent == me && state != 'Z');
    // SAFETY: pidfd is the descriptor just opened; a null siginfo is allowed.
    let sent = ours
        && unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd,
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        } == 0;
    // SAFETY: closes the descriptor opened above, once.
    unsafe { libc::close(pidfd) };
    sent
}

/// A fresh, empty scratch directory for side effects that cross processes, removed
/// with everything in it when the guard is dropped (so test runs leave no litter).
pub fn scratch_dir(name: &str) -> ScratchDir {
    let path = std::env::temp_dir().join(format!("aplex-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(&path).expect("scratch dir");
    ScratchDir { path }
}

/// A directory made by [`scratch_dir`]; reads as its path (`dir.clone()` is a
/// `PathBuf`), and is removed when dropped.
pub struct ScratchDir {
    path: std::path::PathBuf,
}

impl std::ops::Deref for ScratchDir {
    type Target = std::path::PathBuf;

    fn deref(&self) -> &std::path::PathBuf {
        &self.path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether this is the first time any process asks about `name` under `dir` (a file
/// there remembers): lets a work crash its worker once, then run.
pub fn first_time(dir: &std::path::Path, name: &str) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(name))
        .is_ok()
}

/// The pids of this process's zombie (exited, not reaped) children.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .expect("/proc is readable")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            process_stat(pid).is_some_and(|(state, parent)| parent == me && state == 'Z')
        })
        .collect()
}

/// Runs `body` on its own thread and fails the test if it has not returned within
/// `limit` (a hang detector for tests of faults that used to wedge a pool).
pub fn within(limit: Duration, body: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || {
        body();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(limit) {
        Ok(()) => runner.join().expect("the test body panicked"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = runner.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test did not finish within {limit:?}: something hangs")
        }
    }
}

/// What each open file descriptor of this process points to (for failure messages).
pub fn open_fd_targets() -> Vec<String> {
    let mut targets: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some(format!(
                "{} -> {}",
                entry.file_name().to_string_lossy(),
                target.display()
            ))
        })
        .collect();
    targets.sort();
    targets
}

/// Recurses until the stack runs out (a work's stack overflow).
#[allow(unconditional_recursion)] // running out of stack is the point
pub fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    recurse(depth + 1).wrapping_add(frame[0])
}

/// A thread pool of two workers, with every other setting at its default.
pub fn two_thread_pool() -> aplex::ThreadAsyncPoolExecutor {
    aplex::ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .expect("a thread pool of two")
}
