//! Cancelling on the process pool beyond the shared suite (`pool_suite/cancel.rs`):
//! `shutdown_now` aborts running async works inside the children (seen by the side
//! effects they leave).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{scratch_dir, wait_until, ScratchDir};

/// Writes `path` when dropped: proof that a future was dropped in the child.
struct TouchOnDrop(PathBuf);

impl Drop for TouchOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::write(&self.0, b"dropped");
    }
}

/// Marks `dir/started`, then sleeps an hour, then marks `dir/finished`; marks
/// `dir/dropped` if its future is dropped.
#[aplex::work]
async fn long_async(dir: PathBuf) -> u8 {
    let _guard = TouchOnDrop(dir.join("dropped"));
    std::fs::write(dir.join("started"), b"").unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    std::fs::write(dir.join("finished"), b"").unwrap();
    1
}

fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

#[test]
fn shutdown_now_aborts_running_async_works_in_the_children() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let dirs: Vec<ScratchDir> = (0..2)
        .map(|i| scratch_dir(&format!("shutdown-now-{i}")))
        .collect();
    let running: Vec<_> = dirs
        .iter()
        .map(|dir| pool.submit(long_async, dir.to_path_buf()))
        .collect();
    wait_until("both works started", || {
        dirs.iter().all(|dir| exists(dir, "started"))
    });
    pool.shutdown_now();
    for future in running {
        assert_eq!(future.result(), Err(Error::Cancelled));
    }
    assert!(
        dirs.iter().all(|dir| exists(dir, "dropped")),
        "the children dropped the works"
    );
    assert_eq!(pool.worker_pids(), [None, None]);
}
