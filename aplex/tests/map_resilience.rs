//! A map that survives its workers: `keep_going` yields one result per item instead of
//! ending at the first error, and `retry_crashed` (on a map, or per work in
//! `WorkOptions`) runs again the works lost to a worker that died.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor, WorkOptions, WorkerExit};
use common::{scratch_dir, within};

#[test]
fn keep_going_yields_every_items_result_on_threads() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let results: Vec<_> = pool
        .map(
            |x: u64| async move {
                if x.is_multiple_of(3) {
                    panic!("multiple of three");
                }
                x
            },
            0..10,
        )
        .chunksize(2)
        .keep_going()
        .collect();
    assert_eq!(results.len(), 10, "one result per item");
    for (x, result) in results.iter().enumerate() {
        match result {
            Ok(value) => assert_eq!(*value, x as u64),
            Err(Error::Panicked { message }) => {
                assert_eq!(x % 3, 0);
                assert!(message.contains("multiple of three"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Exits its worker process the first time it sees `x` (a file under `dir` remembers),
/// and returns `x` after.
#[aplex::work]
fn crash_once((dir, x): (PathBuf, u64)) -> u64 {
    if common::first_time(&dir, &x.to_string()) {
        std::process::exit(3);
    }
    x
}

/// Counts its attempts in a file under `dir`, and always exits its worker process.
#[aplex::work]
fn always_crash(dir: PathBuf) -> u8 {
    use std::io::Write;
    let mut attempts = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.join("attempts"))
        .unwrap();
    attempts.write_all(b".").unwrap();
    std::process::exit(4)
}

#[aplex::work]
fn identity(x: u64) -> u64 {
    if x == 3 {
        std::process::exit(5);
    }
    x
}

fn processes() -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .max_works_per_worker(1)
        .build()
        .unwrap()
}

#[test]
fn keep_going_yields_the_crash_of_an_item_and_goes_on() {
    within(Duration::from_secs(60), || {
        let pool = processes();
        let results: Vec<_> = pool
            .map(aplex::blocking(identity), 0..8)
            .keep_going()
            .collect();
        assert_eq!(results.len(), 8);
        for (x, result) in results.into_iter().enumerate() {
            if x == 3 {
                assert!(
                    matches!(
                        result,
                        Err(Error::WorkerCrashed {
                            exit: WorkerExit::Code(5),
                            ..
                        })
                    ),
                    "{result:?}"
                );
            } else {
                assert_eq!(result, Ok(x as u64));
            }
        }
    });
}

#[test]
fn retry_crashed_runs_lost_works_again_and_the_map_completes() {
    within(Duration::from_secs(60), || {
        let pool = processes();
        let dir = scratch_dir("retry-map");
        let items: Vec<_> = (0..6).map(|x| (dir.clone(), x)).collect();
        let results: Result<Vec<u64>, Error> = pool
            .map(aplex::blocking(crash_once), items)
            .retry_crashed(1)
            .collect();
        assert_eq!(
            results,
            Ok((0..6).collect()),
            "every item crashed once, then ran"
        );
        // A slot counts its restart once it has failed the lost works over, which can be
        // after their retries have already finished elsewhere.
        common::wait_until("six workers were replaced", || {
            pool.restarts().iter().sum::<u64>() == 6
        });
    });
}

#[test]
fn retry_crashed_gives_up_after_its_retries() {
    within(Duration::from_secs(60), || {
        let pool = processes();
        let dir = scratch_dir("retry-single");
        let options = WorkOptions::new().retry_crashed(2);
        let outcome = pool
            .submit_with(aplex::blocking(always_crash), dir.clone(), options)
            .result();
        assert!(
            matches!(
                outcome,
                Err(Error::WorkerCrashed {
                    exit: WorkerExit::Code(4),
                    ..
                })
            ),
            "{outcome:?}"
        );
        let attempts = std::fs::read_to_string(dir.join("attempts")).unwrap();
        assert_eq!(attempts, "...", "one run and two retries");
    });
}
