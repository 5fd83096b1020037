//! Quickstart: Python aplex's demo, for real and offline.
//!
//! It starts a small HTTP server (hyper, `hello_server/`) on 127.0.0.1, then a
//! `ProcessAsyncPoolExecutor` with 4 worker processes fetches from it with an async work
//! using reqwest (Python aplex's demo uses aiohttp): one `submit` waited on with
//! `result()`, a `map` over 1,000 requests with a timeout, and the same awaited from async
//! code. It prints the statuses, how many requests each worker process served, and the
//! elapsed time. Each worker keeps one `reqwest::Client` (its connection pool) as its
//! worker state.
//!
//! The worker processes are this same program, started again: they become workers
//! before `main` runs, so the server runs only in the parent.
//!
//! Run it with `cargo run --release --example quickstart`.

mod hello_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aplex::{worker_state, Error, ProcessAsyncPoolExecutor};
use futures::StreamExt;

/// What one fetch gives: the HTTP status and the worker that fetched it, or why it failed.
type Fetched = Result<(u16, String), String>;

/// Each worker process's HTTP client, made once as the worker starts: one connection
/// pool per worker, reused by every fetch on it.
#[aplex::worker_state]
fn http_client(_worker: usize) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .build()
        .map_err(|error| error.to_string())
}

/// The work: GET `url` and return its HTTP status and the worker process that fetched it.
#[aplex::work]
async fn demo(url: String) -> Fetched {
    let client = worker_state::<reqwest::Client>().ok_or("no HTTP client on this worker")?;
    let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, format!("pid {}", std::process::id())))
}

/// Counts statuses and requests per worker; failed fetches are counted apart.
fn tally(outcomes: &[Result<Fetched, Error>]) -> String {
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut workers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = 0;
    for outcome in outcomes {
        match outcome {
            Ok(Ok((status, worker))) => {
                *statuses.entry(*status).or_default() += 1;
                *workers.entry(worker).or_default() += 1;
            }
            Ok(Err(_)) | Err(_) => failures += 1,
        }
    }
    format!(
        "{} requests, statuses {statuses:?}, failures {failures}\n  requests per worker {workers:?}",
        outcomes.len()
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("http://{}/", hello_server::start());
    let started = Instant::now();
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(4)
        .worker_state(http_client)
        .build()?;
    let pids: Vec<u32> = pool.worker_pids().into_iter().flatten().collect();
    println!(
        "parent pid {}, worker processes {pids:?}",
        std::process::id()
    );

    // Submit one work and wait for it: `?` for the pool's error, `?` for the fetch's.
    let (status, worker) = pool.submit(demo, url.clone()).result()??;
    println!("Status: {status} (fetched by {worker})");

    // Map the work over 1,000 requests, with a timeout for the whole map.
    let urls = std::iter::repeat_n(url.clone(), 1000);
    let outcomes: Vec<_> = pool
        .map(demo, urls)
        .timeout(Duration::from_secs(30))
        .collect();
    println!("map: {}", tally(&outcomes));

    // The same, awaited from async code (any runtime works; this is futures' own).
    let awaited: Vec<_> = futures::executor::block_on(async {
        let first = pool.submit(demo, url.clone()).await;
        let rest = pool
            .map(demo, std::iter::repeat_n(url.clone(), 1000))
            .timeout(Duration::from_secs(30))
            .into_stream();
        futures::stream::once(async { first })
            .chain(rest)
            .collect()
            .await
    });
    println!("awaited: {}", tally(&awaited));

    pool.shutdown(true);
    println!("elapsed: {:.2?}", started.elapsed());
    Ok(())
}
