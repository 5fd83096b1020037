//! Dropping a thread pool that still has running works: it returns (within the grace
//! period) and leaves no thread behind, its timer thread included. Alone in its binary so that no other test's
//! threads change the count.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use aplex::ThreadAsyncPoolExecutor;
use common::{live_thread_names, wait_until, PATIENCE};

#[test]
fn dropping_a_busy_pool_returns_and_leaves_no_thread_behind() {
    let before = live_thread_names().len();
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(3)
        .shutdown_grace(Duration::from_secs(2))
        .build()
        .unwrap();
    let sleepers: Vec<_> = (0..30)
        .map(|_| pool.submit(|()| tokio::time::sleep(Duration::from_secs(3600)), ()))
        .collect();
    let quick = pool.submit(aplex::blocking(|x: u8| x), 1);
    assert_eq!(quick.result(), Ok(1));
    // A timed-out work starts the pool's timer thread, which must be joined too.
    let timed_out = pool.submit_with(
        |()| std::future::pending::<()>(),
        (),
        aplex::WorkOptions::new().timeout(Duration::from_millis(10)),
    );
    assert_eq!(
        timed_out.result(),
        Err(aplex::Error::TimedOut {
            clock: aplex::Clock::Work
        })
    );
    assert!(live_thread_names()
        .iter()
        .any(|name| name == "aplex-deadlines"));
    wait_until("the sleepers are running", || {
        sleepers.iter().all(|f| f.running())
    });
    assert!(live_thread_names().len() > before);

    let (done_tx, done_rx) = mpsc::channel();
    let dropper = std::thread::spawn(move || {
        drop(pool);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(PATIENCE)
        .expect("dropping the pool must not hang");
    dropper.join().unwrap();
    for sleeper in sleepers {
        assert_eq!(sleeper.result(), Err(aplex::Error::Cancelled));
    }
    // A joined thread's /proc entry can outlive the join by a moment.
    wait_until("no thread of the pool is left", || {
        live_thread_names().len() == before
    });
}
