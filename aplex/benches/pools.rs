//! criterion benches of the thread and process pools' hot paths: one submit → result
//! round trip, and a map of 1,000 tiny works at chunksize 1 and 256. `cargo bench -p
//! aplex` runs them with the ecosystem's harness (its statistics, its comparison with the
//! last run, HTML reports under `target/criterion/`); `cargo xtask bench` stays the
//! side-by-side runner against raw limits and peers (docs/PERFORMANCE.md).

use std::hint::black_box;

use aplex::{ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};

/// The process pool's tiny work (registered: it crosses into the worker processes).
#[aplex::work]
async fn echo(x: u64) -> u64 {
    x
}

/// Works per map.
const ITEMS: u64 = 1_000;
/// Workers in each pool, as in `cargo xtask bench`.
const POOL_SIZE: usize = 2;

fn thread_pool(c: &mut Criterion) {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .build()
        .expect("a thread pool");
    let mut group = c.benchmark_group("thread");
    group.bench_function("round_trip", |b| {
        b.iter(|| {
            pool.submit(|x: u64| async move { x }, black_box(7))
                .result()
        })
    });
    group.throughput(Throughput::Elements(ITEMS));
    for chunksize in [1, 256] {
        group.bench_with_input(
            BenchmarkId::new("map", chunksize),
            &chunksize,
            |b, &size| {
                b.iter(|| {
                    pool.map(|x: u64| async move { x }, 0..ITEMS)
                        .chunksize(size)
                        .count()
                })
            },
        );
    }
    group.finish();
}

fn process_pool(c: &mut Criterion) {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(POOL_SIZE)
        .build()
        .expect("a process pool");
    let mut group = c.benchmark_group("process");
    group.bench_function("round_trip", |b| {
        b.iter(|| pool.submit(echo, black_box(7)).result())
    });
    group.throughput(Throughput::Elements(ITEMS));
    for chunksize in [1, 256] {
        group.bench_with_input(
            BenchmarkId::new("map", chunksize),
            &chunksize,
            |b, &size| b.iter(|| pool.map(echo, 0..ITEMS).chunksize(size).count()),
        );
    }
    group.finish();
}

/// The group criterion's `main` runs (kept short: 3 s of samples per bench).
mod benches {
    use criterion::{criterion_group, Criterion};
    use std::time::Duration;

    criterion_group! {
        name = pools;
        config = Criterion::default().measurement_time(Duration::from_secs(3));
        targets = super::thread_pool, super::process_pool
    }
}

criterion_main!(benches::pools);
