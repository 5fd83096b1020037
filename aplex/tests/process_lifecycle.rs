//! The process pool leaves nothing behind: no child after `shutdown(true)` or `Drop`,
//! no process, thread or fd after 200 create/drop cycles, and none after a worker that
//! cannot shake hands in time fails `build()`. One test, alone in its binary, so the
//! counts it compares are this pool's alone.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{live_children, live_thread_names, open_fds, wait_until};

#[aplex::work]
async fn nap(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

#[aplex::work]
fn refuse(_: ()) -> Result<(), String> {
    Err("not today".into())
}

#[aplex::work]
fn spin(_: ()) -> u8 {
    // A blocking work that never ends: only a kill stops it.
    loop {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn counts() -> (usize, usize, usize) {
    (live_children().len(), live_thread_names().len(), open_fds())
}

#[test]
fn nothing_is_left_behind() {
    let fds_before = common::open_fd_targets();
    let before = counts();
    assert_eq!(before.0, 0, "the test process starts with no children");

    // shutdown(true) drains, then every child exits and is reaped.
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    assert_eq!(live_children().len(), 2);
    let napping: Vec<_> = (0..6).map(|i| pool.submit(nap, i * 5)).collect();
    pool.shutdown(true);
    assert!(napping.into_iter().all(|f| f.result().is_ok()));
    assert_eq!(
        live_children(),
        Vec::<u32>::new(),
        "shutdown(true) reaps every worker"
    );
    drop(pool);

    // Drop with busy workers, one stuck in a blocking work: bounded, then killed and reaped.
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .shutdown_grace(Duration::from_millis(200))
        .build()
        .unwrap();
    let stuck = pool.submit(aplex::blocking(spin), ());
    let sleeping = pool.submit(nap, 3_600_000);
    wait_until("both works are running", || {
        pool.workloads().iter().sum::<usize>() == 2
    });
    drop(pool); // returns once the grace period is over and the stuck worker is killed
    assert_eq!(sleeping.result(), Err(Error::Cancelled));
    assert_eq!(stuck.result(), Err(Error::Cancelled));
    assert_eq!(
        live_children(),
        Vec::<u32>::new(),
        "Drop reaps every worker"
    );

    // A worker that cannot shake hands in time fails build() and is reaped.
    let error = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .start_timeout(Duration::from_micros(1))
        .build()
        .unwrap_err();
    assert_eq!(error.worker(), Some(0), "{error:?}");
    assert!(error.to_string().contains("handshake"), "{error}");
    assert_eq!(live_children(), Vec::<u32>::new());

    // A worker initializer that fails fails build(), and its process is reaped too.
    let error = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_initializer(refuse)
        .build()
        .unwrap_err();
    assert!(error.worker().is_some(), "{error:?}");
    assert_eq!(live_children(), Vec::<u32>::new());
    assert_eq!(common::zombie_children(), Vec::<u32>::new());

    // 200 create/drop cycles leave no process, thread or fd behind.
    let warm = counts();
    for cycle in 0..200u32 {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .build()
            .unwrap();
        if cycle.is_multiple_of(20) {
            assert_eq!(pool.submit(nap, 0).result(), Ok(0));
        }
        drop(pool);
    }
    // A joined thread's /proc entry can outlive the join by a moment.
    wait_until("the counts settle back", || counts() == warm);
    assert_eq!(
        counts(),
        before,
        "fds before: {fds_before:?}, now: {:?}",
        common::open_fd_targets()
    );
}
