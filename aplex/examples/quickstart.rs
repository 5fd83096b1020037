//! Quickstart: Python aplex's demo, for real and offline.
//!
//! It starts a small HTTP server (hyper) on 127.0.0.1 inside this example, then a
//! `ProcessAsyncPoolExecutor` with 4 worker processes fetches from it with an async work
//! using reqwest (Python aplex's demo uses aiohttp): one `submit` waited on with
//! `result()`, a `map` over 1,000 requests with a timeout, and the same awaited from async
//! code. It prints the statuses, how many requests each worker process served, and the
//! elapsed time. Each worker keeps one `reqwest::Client` (its connection pool) as its
//! worker state.
//!
//! The worker processes are this same program, started again: they become workers
//! before `main` runs, so the server below runs only in the parent.
//!
//! Run it with `cargo run --release --example quickstart`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aplex::{worker_state, Error, ProcessAsyncPoolExecutor};
use futures::StreamExt;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};

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

/// Answers every request with `200 OK`.
async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"hello from aplex",
    ))))
}

/// Serves [`hello`] on 127.0.0.1, on a thread of its own.
fn start_server() -> SocketAddr {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    // A deep accept backlog: the map opens up to pool_size × max_works_per_worker
    // connections at once, and a full backlog drops SYNs (retried only after 1 s).
    let listener: TcpListener = runtime.block_on(async {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind 127.0.0.1");
        socket.listen(4096).expect("listen")
    });
    let address = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(hello));
                    let _ = connection.await;
                });
            }
        });
    });
    address
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
    let url = format!("http://{}/", start_server());
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
