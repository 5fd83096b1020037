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
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .filter_map(|entry| {
            let path = entry.ok()?.path().join("comm");
            Some(std::fs::read_to_string(path).ok()?.trim().to_owned())
        })
        .collect()
}

/// How many live threads of this process have a name starting with `prefix`.
pub fn threads_named(prefix: &str) -> usize {
    live_thread_names()
        .iter()
        .filter(|name| name.starts_with(prefix))
        .count()
}
