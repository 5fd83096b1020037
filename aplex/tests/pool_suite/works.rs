//! The works of the suite: registered, so every pool runs them.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// How often a work looks at its gate file.
const POLL: Duration = Duration::from_millis(2);

#[aplex::work]
pub(crate) async fn double(x: u64) -> u64 {
    x * 2
}

#[aplex::work]
pub(crate) fn square(x: u64) -> u64 {
    x * x
}

#[aplex::work]
pub(crate) fn add((a, b): (u64, u64)) -> u64 {
    a + b
}

/// Fails (panics) on odd items.
#[aplex::work]
pub(crate) async fn even_only(x: u64) -> u64 {
    assert!(x.is_multiple_of(2), "odd item {x}");
    x
}

#[aplex::work]
pub(crate) async fn panic_async(message: String) -> u8 {
    panic!("{message}")
}

#[aplex::work]
pub(crate) fn panic_blocking(message: String) -> u8 {
    panic!("{message}")
}

/// Never finishes.
#[aplex::work]
pub(crate) async fn forever(_: ()) {
    std::future::pending::<()>().await
}

/// Leaves mark `mark`, then holds until gate `gate` is open; gives `value`.
#[aplex::work]
pub(crate) async fn hold((mark, gate, value): (PathBuf, PathBuf, u64)) -> u64 {
    std::fs::write(&mark, b"").expect("the mark is written");
    while !gate.exists() {
        tokio::time::sleep(POLL).await;
    }
    value
}

/// As [`hold`], on a blocking thread.
#[aplex::work]
pub(crate) fn hold_blocking((mark, gate, value): (PathBuf, PathBuf, u64)) -> u64 {
    std::fs::write(&mark, b"").expect("the mark is written");
    while !gate.exists() {
        std::thread::sleep(POLL);
    }
    value
}

/// Leaves mark `mark`, then never finishes.
#[aplex::work]
pub(crate) async fn mark_then_forever(mark: PathBuf) {
    std::fs::write(&mark, b"").expect("the mark is written");
    std::future::pending::<()>().await
}

/// Appends `line` to file `path`.
#[aplex::work]
pub(crate) fn append((path, line): (PathBuf, String)) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the file opens");
    writeln!(file, "{line}").expect("the line is written");
}

/// The process and thread the work runs on.
#[aplex::work]
pub(crate) async fn whereami(_: ()) -> (u32, String) {
    let thread = std::thread::current().name().unwrap_or("").to_owned();
    (std::process::id(), thread)
}

/// Blocking works running now in this process.
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Holds a blocking thread for `ms` milliseconds (a stand-in for CPU work) and says how
/// many blocking works of this kind ran in its process when it began, itself included.
#[aplex::work]
pub(crate) fn busy_for(ms: u64) -> usize {
    use std::sync::atomic::Ordering;
    let running = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    std::thread::sleep(Duration::from_millis(ms));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    running
}
