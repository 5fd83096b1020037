//! Quickstart: Python aplex's demo, for real and offline.
//!
//! It starts a small HTTP server on 127.0.0.1 inside this example, then a
//! `ProcessAsyncPoolExecutor` with 4 worker processes fetches from it with an async work:
//! one `submit` waited on with `result()`, a `map` over 1,000 requests with a timeout,
//! and the same awaited from async code. It prints the statuses, how many requests each
//! worker process served, and the elapsed time.
//!
//! The worker processes are this same program, started again: they become workers
//! before `main` runs, so the server below runs only in the parent.
//!
//! Run it with `cargo run --release --example quickstart`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aplex::{Error, ProcessAsyncPoolExecutor};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// What one fetch gives: the HTTP status and the worker that fetched it, or why it failed.
type Fetched = Result<(u16, String), String>;

/// The work: GET `url` and return its HTTP status and the worker process that fetched it.
#[aplex::work]
async fn demo(url: String) -> Fetched {
    let address = url.trim_start_matches("http://");
    let (host, path) = address.split_once('/').unwrap_or((address, ""));
    let mut stream = TcpStream::connect(host).await.map_err(|e| e.to_string())?;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let status = String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("no status line in the response")?;
    let worker = format!("pid {}", std::process::id());
    Ok((status, worker))
}

/// Serves `200 OK` to every request on 127.0.0.1, on a thread of its own.
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
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut request = [0u8; 1024];
                    let _ = socket.read(&mut request).await;
                    let body = "hello from aplex";
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
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
    let pool = ProcessAsyncPoolExecutor::builder().pool_size(4).build()?;
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
