//! A worker process reads its frames on its runtime thread while idle and on a reader
//! thread while busy, handing the reading over each time
//! (`aplex-process/src/child/intake.rs`). Lone round trips and bursts take turns here,
//! so the reading changes hands again and again; every frame must still arrive in the
//! order it was sent. A cancel that overtook its run would find nothing to cancel: the
//! work would sleep its full minute and the process would report it in flight.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{wait_until, within};

#[aplex::work]
async fn echo(x: u64) -> u64 {
    x
}

#[aplex::work]
async fn sleep_a_minute(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_secs(60)).await;
    x
}

#[test]
fn frames_keep_their_order_while_the_reading_changes_hands() {
    within(Duration::from_secs(180), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1_000)
            .build()
            .unwrap();
        for round in 0..30u64 {
            // Idle: the runtime thread reads this one.
            assert_eq!(pool.submit(echo, round).result(), Ok(round));
            // A burst: the reading moves to the reader thread, and back once idle.
            let sleepers: Vec<_> = (0..40).map(|x| pool.submit(sleep_a_minute, x)).collect();
            let quick: Vec<_> = (0..40).map(|x| pool.submit(echo, x)).collect();
            for sleeper in &sleepers {
                assert!(sleeper.cancel(), "round {round}: a sleeper was cancelled");
            }
            for (x, future) in quick.into_iter().enumerate() {
                assert_eq!(future.result(), Ok(x as u64), "round {round}");
            }
            for sleeper in sleepers {
                assert_eq!(sleeper.result(), Err(Error::Cancelled), "round {round}");
            }
            // Each sleeper is over only once its process answers its cancel.
            wait_until("the process has answered every cancel", || {
                pool.workloads()[0] == 0
            });
        }
    });
}
