//! `ThreadAsyncPoolExecutor::scope`: works and map items borrow from the caller's stack,
//! and the scope returns only once every work of it is over — past its timeout, after a
//! panic of the scope's body, cancelled, or in a map dropped early.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use aplex::{blocking, Clock, Error, ThreadAsyncPoolExecutor, WorkOptions};
use common::{two_thread_pool as pool, within, BlockingGate};

/// A helper that takes the scope by name, as the facade exports it.
fn length_in<'scope>(
    s: &'scope aplex::Scope<'scope, '_>,
    word: &'scope str,
) -> aplex::WorkFuture<usize> {
    s.submit(|word: &str| async move { word.len() }, word)
}

#[test]
fn a_helper_can_name_the_scope() {
    let pool = pool();
    let word = String::from("delta");
    assert_eq!(pool.scope(|s| length_in(s, &word).result()), Ok(5));
}

#[test]
fn works_and_map_items_borrow_from_the_stack() {
    let pool = pool();
    let words: Vec<String> = ["alpha", "beta", "gamma"].map(String::from).to_vec();
    let tally = Mutex::new(Vec::new());
    let lengths: Vec<usize> = pool.scope(|s| {
        let first = s.submit(|word: &String| async move { word.len() }, &words[0]);
        let noted = s.submit(
            blocking(|word: &String| tally.lock().unwrap().push(word.clone())),
            &words[1],
        );
        assert_eq!(first.result(), Ok(5));
        noted.result().unwrap();
        s.map(|word: &String| async move { word.len() }, words.iter())
            .map(Result::unwrap)
            .collect()
    });
    assert_eq!(lengths, [5, 4, 5]);
    assert_eq!(*tally.lock().unwrap(), ["beta"]);
    let numbers = [1_u64, 2, 3];
    let squares: Vec<u64> = pool.scope(|s| {
        s.map(blocking(|x: &u64| x * x), numbers.iter())
            .chunksize(2)
            .map(Result::unwrap)
            .collect()
    });
    assert_eq!(squares, [1, 4, 9]);
}

#[test]
fn the_scope_waits_for_a_blocking_work_past_its_timeout() {
    within(Duration::from_secs(30), || {
        let pool = pool();
        let gate = BlockingGate::new();
        let body_returned = AtomicBool::new(false);
        let wrote = AtomicBool::new(false);
        std::thread::scope(|threads| {
            // Opens the gate only once the scope's body is over: the scope itself must
            // then still be waiting for the work.
            threads.spawn(|| {
                common::wait_until("the scope's body returned", || {
                    body_returned.load(Ordering::SeqCst)
                });
                gate.open();
            });
            pool.scope(|s| {
                let gate = &gate;
                let wrote = &wrote;
                let options = WorkOptions::new().timeout(Duration::from_millis(10));
                let late = s.submit_with(
                    blocking(move |()| {
                        gate.pass();
                        wrote.store(true, Ordering::SeqCst);
                    }),
                    (),
                    options,
                );
                assert_eq!(
                    late.result(),
                    Err(Error::TimedOut {
                        clock: Clock::BlockingWork
                    })
                );
                body_returned.store(true, Ordering::SeqCst);
            });
            assert!(
                wrote.load(Ordering::SeqCst),
                "the scope returned while its work ran"
            );
        });
    });
}

#[test]
fn a_panicking_body_still_waits_for_its_works_then_panics() {
    within(Duration::from_secs(30), || {
        let pool = pool();
        let finished = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                for _ in 0..4 {
                    let finished = &finished;
                    let _detached = s.submit(
                        blocking(move |()| {
                            std::thread::sleep(Duration::from_millis(5));
                            finished.fetch_add(1, Ordering::SeqCst);
                        }),
                        (),
                    );
                }
                panic!("the body gives up");
            })
        }));
        assert!(caught.is_err(), "the body's panic is resumed");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            4,
            "every work was over first"
        );
    });
}

#[test]
fn cancelled_works_and_maps_dropped_early_release_the_scope() {
    within(Duration::from_secs(30), || {
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .build()
            .unwrap();
        let gate = BlockingGate::new();
        let ran = AtomicBool::new(false);
        pool.scope(|s| {
            let gate = &gate;
            let running = s.submit(blocking(move |()| gate.pass()), ());
            let queued = s.submit(|()| async { ran.store(true, Ordering::SeqCst) }, ());
            assert!(queued.cancel());
            gate.open();
            running.result().unwrap();
            // A map over an endless input, read in part and dropped: its works in flight
            // are cancelled, and each releases the scope.
            let endless = 0_u64..;
            let mut map = s.map(|x: u64| async move { x }, endless);
            assert_eq!(map.by_ref().take(3).count(), 3);
            drop(map);
        });
        assert!(!ran.load(Ordering::SeqCst), "the cancelled work never ran");
    });
}
