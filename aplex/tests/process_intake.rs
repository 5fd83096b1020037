//! A worker process reads its frames on its runtime thread while idle and on a reader
//! thread while busy, handing the reading over each time
//! (`aplex-process/src/child/intake.rs`). Lone round trips and bursts take turns here,
//! so the reading changes hands again and again; every frame must still arrive in the
//! order it was sent. A cancel that overtook its run would find nothing to cancel: the
//! work would sleep its full minute and the process would report it in flight.

mod common;

use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor};
use common::{live_thread_names_of, wait_until, within};

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

#[test]
fn a_worker_starts_its_reader_thread_only_once_frames_stream_in() {
    within(Duration::from_secs(120), || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        let pid = pool.worker_pids()[0]
            .expect("the worker's pid, known once built")
            .to_string();
        for x in 0..20 {
            assert_eq!(pool.submit(echo, x).result(), Ok(x));
        }
        let reader = "aplex-child-rea";
        let names = live_thread_names_of(&pid);
        assert!(
            names.iter().any(|name| name == "aplex-worker-0"),
            "the worker's main thread is named after it: {names:?}"
        );
        assert!(
            !names.iter().any(|name| name == reader),
            "lone round trips need no reader thread: {names:?}"
        );
        // A message that finds a work alive is part of a stream: the reading moves to the
        // reader thread, started then. (Each echo is a message of its own, as each waits
        // for the one before.)
        let sleeper = pool.submit(sleep_a_minute, 1);
        wait_until("the worker started its reader thread", || {
            assert_eq!(pool.submit(echo, 2).result(), Ok(2));
            live_thread_names_of(&pid).iter().any(|name| name == reader)
        });
        assert!(sleeper.cancel());
        assert_eq!(sleeper.result(), Err(Error::Cancelled));
        // Idle again, the runtime thread reads; the reader thread stays for the next stream.
        assert_eq!(pool.submit(echo, 3).result(), Ok(3));
    });
}
