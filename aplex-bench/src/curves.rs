//! The cost curves of `cargo xtask bench --curves`: how a cost grows with what a user
//! scales. Each prints one figure per point, named `curve_<curve>_<x>`:
//!
//! - `curve_payload`: the process pool's round trip of a `Vec<u8>` echo (a blocking
//!   work) from 64 B to 64 MiB, µs, with the raw ipc-channel byte-channel echo of the
//!   same bytes as the limit;
//! - `curve_pool_size`: a map of tiny async works at chunksize 1 on pools of 1, 2, 4 and
//!   8 workers, works/s, thread pool and process pool;
//! - `curve_queued`: submitting 10⁴ to 10⁶ works that stay queued (their workers are
//!   held busy), µs per submit and the parent's resident bytes per queued work.

use serde_bytes::ByteBuf;

use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};

use crate::measure::{latencies_taking_turns, quantile, rss_bytes, seconds, warm_rate};
use crate::raw::EchoChild;
use crate::report::{leak, print, Figure};
use crate::works::{echo, echo_bytes, sleep_ms};

/// The curves' cases.
pub(crate) const NAMES: &[&str] = &["curve_payload", "curve_pool_size", "curve_queued"];

/// Runs curve `name`; `smoke` keeps every point tiny.
pub(crate) fn run(name: &str, smoke: bool) -> Result<(), String> {
    match name {
        "curve_payload" => payload(smoke),
        "curve_pool_size" => pool_size(smoke),
        "curve_queued" => queued(smoke),
        other => return Err(format!("unknown curve `{other}`")),
    }
    Ok(())
}

fn payload(smoke: bool) {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .expect("process pool");
    let (raw, _child) = EchoChild::start();
    let sizes: &[usize] = if smoke {
        &[64, 1 << 10]
    } else {
        &[
            64,
            1 << 10,
            16 << 10,
            256 << 10,
            1 << 20,
            4 << 20,
            16 << 20,
            64 << 20,
        ]
    };
    for &bytes in sizes {
        let payload = ByteBuf::from(vec![7u8; bytes]);
        let calls = if smoke {
            3
        } else {
            (64 << 20) / bytes.max(64 << 10) + 4
        }
        .min(500);
        let ours_once = || {
            let echoed = pool
                .submit(aplex::blocking(echo_bytes), payload.clone())
                .result()
                .unwrap();
            assert_eq!(echoed.len(), bytes);
        };
        let raw_once = || assert_eq!(raw.bytes_round_trip(&payload).len(), bytes);
        // Once per worker first: each has its regions and buffers warm.
        ours_once();
        ours_once();
        raw_once();
        let [ours, limit] =
            latencies_taking_turns(calls, [&mut |_| ours_once(), &mut |_| raw_once()]);
        print(&Figure {
            name: leak(format!("curve_payload_{bytes}")),
            unit: "us",
            ours: quantile(&ours, 0.5),
            limit: Some(quantile(&limit, 0.5)),
            peer: None,
        });
    }
}

fn pool_size(smoke: bool) {
    let items = if smoke { 2_000 } else { 200_000 };
    for workers in [1, 2, 4, 8] {
        let threads = ThreadAsyncPoolExecutor::builder()
            .pool_size(workers)
            .build()
            .expect("thread pool");
        let ours = warm_rate(items, || {
            threads.map(echo, 0..items as u64).chunksize(1).count()
        });
        drop(threads);
        figure(format!("curve_pool_size_thread_{workers}"), "works/s", ours);
        let processes = ProcessAsyncPoolExecutor::builder()
            .pool_size(workers)
            .build()
            .expect("process pool");
        let ours = warm_rate(items, || {
            processes.map(echo, 0..items as u64).chunksize(1).count()
        });
        let name = format!("curve_pool_size_process_{workers}");
        figure(name, "works/s", ours);
    }
}

fn queued(smoke: bool) {
    let counts: &[usize] = if smoke {
        &[1_000, 10_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    for &count in counts {
        // One worker running one long work at a time: every other work stays queued.
        let pool = ThreadAsyncPoolExecutor::builder()
            .pool_size(1)
            .max_works_per_worker(1)
            .build()
            .expect("thread pool");
        pool.submit(sleep_ms, 1).result().unwrap();
        let baseline = rss_bytes();
        let mut futures = Vec::with_capacity(count);
        let took = seconds(|| futures.extend((0..count).map(|_| pool.submit(sleep_ms, 60_000))));
        let grown = rss_bytes().saturating_sub(baseline);
        figure(
            format!("curve_queued_submit_{count}"),
            "us/work",
            took * 1e6 / count as f64,
        );
        figure(
            format!("curve_queued_memory_{count}"),
            "bytes/work",
            grown as f64 / count as f64,
        );
        pool.shutdown_now();
        drop(futures);
    }
}

fn figure(name: String, unit: &'static str, ours: f64) {
    print(&Figure {
        name: leak(name),
        unit,
        ours,
        limit: None,
        peer: None,
    });
}
