//! A map pulls its input as a user of a slow source expects: works start as their items
//! arrive, the map's timeout counts from the first poll and is enforced while the input
//! is pulled, and an input iterator that panics strands none of the works it already
//! handed over.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aplex::{Clock, Error};
use common::{two_thread_pool as pool, wait_until, within};

#[test]
fn each_work_starts_before_the_next_item_is_pulled() {
    within(Duration::from_secs(60), || {
        let pool = pool();
        let started = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&started);
        // A slow source (5 ms an item: the scenario, not a wait for a condition) that
        // hands out item k only once work k-1 has started: a map that waited for more
        // items before sending a work would never get them.
        let input = (0..20u64).inspect(move |&item| {
            std::thread::sleep(Duration::from_millis(5));
            wait_until("the previous item's work has started", || {
                seen.load(Ordering::SeqCst) >= item as usize
            })
        });
        let counter = Arc::clone(&started);
        let doubled: Vec<u64> = pool
            .map(
                move |x: u64| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move { x * 2 }
                },
                input,
            )
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(doubled, (0..20).map(|x| x * 2).collect::<Vec<_>>());
    });
}

#[test]
fn the_timeout_is_enforced_while_a_slow_input_is_pulled() {
    within(Duration::from_secs(60), || {
        let pool = pool();
        let pulled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pulled);
        let endless_and_slow = (0u64..).inspect(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(10)); // the source is slow: the scenario
        });
        let results: Vec<_> = pool
            .map(|x: u64| async move { x }, endless_and_slow)
            .timeout(Duration::from_millis(200))
            .collect();
        assert_eq!(
            results.last(),
            Some(&Err(Error::TimedOut { clock: Clock::Map }))
        );
        assert!(
            results.len() > 1,
            "items that arrived in time were worked on"
        );
        // 200 ms of a 10 ms source is about 20 items; the whole window (600) before is
        // what pulling without watching the deadline did.
        assert!(
            pulled.load(Ordering::SeqCst) < 200,
            "pulled {}",
            pulled.load(Ordering::SeqCst)
        );
    });
}

#[test]
fn the_timeout_counts_from_the_first_poll() {
    let pool = pool();
    let map = pool
        .map(|x: u64| async move { x + 1 }, 0..3)
        .timeout(Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(300)); // the caller does something else first
    let results: Result<Vec<u64>, Error> = map.collect();
    assert_eq!(
        results,
        Ok(vec![1, 2, 3]),
        "a lazy map's clock starts when it starts"
    );
}

#[test]
fn an_input_that_panics_strands_none_of_the_works_it_handed_over() {
    within(Duration::from_secs(60), || {
        let pool = pool();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        let input = (0..10u64).inspect(|&item| {
            if item == 3 {
                panic!("the input broke");
            }
        });
        let mut map = pool.map(
            move |x: u64| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { x }
            },
            input,
        );
        // The map outlives the panic (the caller keeps it): nothing cancels its works.
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| map.by_ref().count()));
        assert!(caught.is_err(), "the input's panic reaches the caller");
        wait_until("the three works handed over have run", || {
            ran.load(Ordering::SeqCst) == 3
        });
        wait_until("the workers are idle", || {
            pool.workloads().iter().sum::<usize>() == 0
        });
        drop(map);
    });
}

#[test]
fn invalid_map_settings_are_the_maps_only_result() {
    let pool = pool();
    let work = |x: u8| async move { x };
    let setting = |results: Vec<Result<u8, Error>>| match results.as_slice() {
        [Err(Error::InvalidConfig { setting, .. })] => *setting,
        other => panic!("expected one InvalidConfig, got {other:?}"),
    };
    assert_eq!(
        setting(pool.map(work, 0..3).chunksize(0).collect()),
        "chunksize"
    );
    assert_eq!(setting(pool.map(work, 0..3).window(0).collect()), "window");
    assert_eq!(
        setting(pool.map(work, 0..3).timeout(Duration::ZERO).collect()),
        "timeout"
    );
    assert_eq!(
        setting(pool.map(work, 0..3).work_timeout(Duration::ZERO).collect()),
        "work_timeout"
    );
    let zero = aplex::WorkOptions::new().timeout(Duration::ZERO);
    match pool.submit_with(work, 1, zero).result() {
        Err(Error::InvalidConfig { setting, .. }) => assert_eq!(setting, "timeout"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}
