//! Big payloads on the process pool: arguments and outputs above the shared-memory
//! threshold cross in regions reused between a parent and its worker, and none is ever
//! read after it was overwritten — sizes around the threshold, one region reused echo
//! after echo with different contents, more payloads in flight than regions, async and
//! blocking works, maps, structured values, regions shared by two pools, and the
//! threshold as a setting.

mod common;

use std::time::Duration;

use aplex::{BuildError, ProcessAsyncPoolExecutor};
use serde_bytes::ByteBuf;

use common::within;

/// Returns its bytes.
#[aplex::work]
fn echo_bytes(data: ByteBuf) -> ByteBuf {
    data
}

/// Returns its bytes reversed, after a yield (an async work holding its output a while).
#[aplex::work]
async fn reverse_bytes(data: ByteBuf) -> ByteBuf {
    tokio::task::yield_now().await;
    ByteBuf::from(reversed(data.into_vec()))
}

/// Makes `len` bytes of its own: an output bigger than the argument.
#[aplex::work]
fn make_bytes((len, seed): (usize, u8)) -> ByteBuf {
    ByteBuf::from(pattern(len, seed))
}

/// Each number doubled: a structured value, encoded piece by piece (not one blob).
#[aplex::work]
fn doubled(numbers: Vec<u64>) -> Vec<u64> {
    numbers.into_iter().map(|n| n * 2).collect()
}

/// `len` bytes that differ from seed to seed and from position to position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 31 + seed as u64 * 7) as u8)
        .collect()
}

/// `data` echoed by `pool`'s blocking `echo_bytes`.
fn echoed(pool: &ProcessAsyncPoolExecutor, data: &[u8]) -> Vec<u8> {
    let bytes = ByteBuf::from(data.to_vec());
    let echoed = pool.submit(aplex::blocking(echo_bytes), bytes).result();
    echoed.unwrap().into_vec()
}

/// `data`, last byte first.
fn reversed(mut data: Vec<u8>) -> Vec<u8> {
    data.reverse();
    data
}

const DEADLINE: Duration = Duration::from_secs(120);

#[test]
fn payloads_around_the_threshold_and_far_above_come_back_intact() {
    within(DEADLINE, || {
        // A threshold of our own, so the sizes are around it whatever the machine's most.
        let threshold = 32 * 1024;
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .shared_memory_threshold(threshold)
            .build()
            .unwrap();
        for (seed, len) in [
            0,
            1,
            threshold - 64,
            threshold - 1,
            threshold,
            threshold + 1,
            threshold + 64,
            1 << 20,
            (5 << 20) + 3,
        ]
        .into_iter()
        .enumerate()
        {
            let data = pattern(len, seed as u8);
            assert_eq!(echoed(&pool, &data), data, "{len} bytes");
        }
    });
}

#[test]
fn a_reused_region_never_shows_an_earlier_payload() {
    within(DEADLINE, || {
        // One worker: every echo reuses the same regions both ways.
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        for seed in 0..60u8 {
            // Sizes go up and down so a region is reused for shorter and longer payloads.
            let len = (200 << 10) + (seed as usize % 7) * 50_000;
            let data = pattern(len, seed);
            assert_eq!(echoed(&pool, &data), data, "echo {seed}");
            let back = pool
                .submit(reverse_bytes, ByteBuf::from(data.clone()))
                .result();
            assert_eq!(back.unwrap().into_vec(), reversed(data), "reverse {seed}");
        }
    });
}

#[test]
fn more_big_payloads_in_flight_than_regions_all_come_back_intact() {
    within(DEADLINE, || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .build()
            .unwrap();
        // 100 at once: far more than the 16 region numbers a channel lends at once, so
        // most travel in one-off regions while the reused ones are lent.
        let futures: Vec<_> = (0..100u8)
            .map(|seed| {
                let data = ByteBuf::from(pattern(300 << 10, seed));
                pool.submit(reverse_bytes, data)
            })
            .collect();
        for (seed, future) in (0..100u8).zip(futures) {
            let expected = reversed(pattern(300 << 10, seed));
            assert_eq!(future.result().unwrap().into_vec(), expected, "{seed}");
        }
        // Outputs bigger than their arguments, each in a region of its own size.
        let made: Vec<ByteBuf> = pool
            .map(
                aplex::blocking(make_bytes),
                (0..40u8).map(|seed| ((seed as usize + 1) * 70_000, seed)),
            )
            .chunksize(1)
            .collect::<Result<_, _>>()
            .unwrap();
        for (seed, bytes) in (0..40u8).zip(made) {
            assert_eq!(
                bytes.into_vec(),
                pattern((seed as usize + 1) * 70_000, seed)
            );
        }
    });
}

#[test]
fn the_threshold_is_a_setting_with_a_clear_limit() {
    within(DEADLINE, || {
        let error: BuildError = ProcessAsyncPoolExecutor::builder()
            .shared_memory_threshold(1 << 20)
            .build()
            .unwrap_err();
        assert_eq!(error.setting(), Some("shared_memory_threshold"));
        assert!(error.to_string().contains("at most"), "{error}");
        // A low threshold sends small payloads through shared memory too.
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .shared_memory_threshold(1024)
            .build()
            .unwrap();
        for seed in 0..20u8 {
            let data = pattern(1000 + seed as usize * 100, seed);
            assert_eq!(echoed(&pool, &data), data);
        }
        // A burst of such payloads: more than one message may carry descriptors for, so
        // the writers must count them as they lend.
        let echoed: Vec<ByteBuf> = pool
            .map(
                aplex::blocking(echo_bytes),
                (0..300u32).map(|seed| ByteBuf::from(pattern(2000, seed as u8))),
            )
            .chunksize(1)
            .collect::<Result<_, _>>()
            .unwrap();
        for (seed, bytes) in (0..300u32).zip(echoed) {
            assert_eq!(bytes.into_vec(), pattern(2000, seed as u8));
        }
    });
}

/// An initializer refusing at length: its answer is bigger than a frame carries.
#[aplex::work]
fn refuse_at_length(_: ()) -> Result<(), String> {
    Err("no ".repeat(40_000))
}

#[test]
fn a_long_initializer_error_reaches_the_build_error_whole() {
    within(DEADLINE, || {
        let error = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .worker_initializer(refuse_at_length)
            .build()
            .unwrap_err();
        assert_eq!(error.worker(), Some(0));
        let shown = error.to_string();
        assert!(shown.matches("no ").count() >= 40_000, "{}", &shown[..200]);
    });
}

/// Exits its worker process the first time it sees `seed` (a file under `dir` remembers),
/// and returns its bytes reversed after: a big argument that must survive its worker.
#[aplex::work]
fn crash_once_then_reverse((dir, seed, data): (std::path::PathBuf, u8, ByteBuf)) -> ByteBuf {
    if common::first_time(&dir, &seed.to_string()) {
        std::process::exit(3);
    }
    ByteBuf::from(reversed(data.into_vec()))
}

#[test]
fn big_arguments_survive_the_crash_of_the_worker_that_read_them() {
    within(DEADLINE, || {
        // One work at a time per worker: a crash loses only the work that caused it.
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(2)
            .max_works_per_worker(1)
            .build()
            .unwrap();
        let dir = common::scratch_dir("big-retry");
        let items: Vec<_> = (0..6u8)
            .map(|seed| (dir.clone(), seed, ByteBuf::from(pattern(700 << 10, seed))))
            .collect();
        // Each worker dies having read its argument from a region: the retry goes to a
        // new process, which has none of the old one's regions.
        let back: Vec<ByteBuf> = pool
            .map(aplex::blocking(crash_once_then_reverse), items)
            .chunksize(1)
            .retry_crashed(1)
            .collect::<Result<_, _>>()
            .unwrap();
        for (seed, bytes) in (0..6u8).zip(back) {
            assert_eq!(
                bytes.into_vec(),
                reversed(pattern(700 << 10, seed)),
                "{seed}"
            );
        }
    });
}

#[test]
fn big_structured_values_cross_whole_in_both_directions() {
    within(DEADLINE, || {
        let pool = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .build()
            .unwrap();
        // From below the threshold to several MB, each encoded number by number.
        for len in [1_000usize, 20_000, 300_000, 1_000_000] {
            let numbers: Vec<u64> = (0..len as u64).map(|n| n * 1_000_003).collect();
            let expected: Vec<u64> = numbers.iter().map(|n| n * 2).collect();
            let got = pool.submit(aplex::blocking(doubled), numbers).result();
            assert_eq!(got.unwrap(), expected, "{len} numbers");
        }
    });
}

/// A parent's regions serve every pool it has: a region read by one pool's worker and
/// written again for the other's is never read stale by either.
#[test]
fn regions_shared_by_two_pools_never_show_an_earlier_payload() {
    within(DEADLINE, || {
        let pools: Vec<ProcessAsyncPoolExecutor> = (0..2)
            .map(|_| {
                ProcessAsyncPoolExecutor::builder()
                    .pool_size(1)
                    .build()
                    .unwrap()
            })
            .collect();
        for seed in 0..24u8 {
            let pool = &pools[seed as usize % 2];
            let data = pattern(200 << 10, seed);
            assert_eq!(echoed(pool, &data), data, "{seed}");
        }
    });
}
