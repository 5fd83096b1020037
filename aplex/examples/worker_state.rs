//! Per-worker state, mpire's most asked-for feature: each worker makes its own value
//! once — here a stand-in for a database connection — and every work on that worker uses
//! it through `aplex::worker_state`, instead of reaching a global.
//!
//! The same maker serves both pools: a thread pool calls it on each worker thread; a
//! process pool calls it in each worker process, where it is found by name because it
//! is marked `#[aplex::worker_state]` (the connection itself never crosses a process).
//!
//! Run it with `cargo run --example worker_state`.

use std::sync::Mutex;

use aplex::{blocking, worker_state, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};

/// A stand-in for a connection each worker opens once.
struct Connection {
    worker: usize,
    pid: u32,
    queries: Mutex<u64>,
}

impl Connection {
    fn query(&self, id: u64) -> String {
        let mut queries = self.queries.lock().unwrap();
        *queries += 1;
        format!(
            "row {id} (query {} on worker {}'s connection, process {})",
            *queries, self.worker, self.pid
        )
    }
}

/// Opens worker `worker`'s connection: on its thread, or in its process.
#[aplex::worker_state]
fn connect(worker: usize) -> Result<Connection, String> {
    println!(
        "worker {worker} (process {}): connecting",
        std::process::id()
    );
    Ok(Connection {
        worker,
        pid: std::process::id(),
        queries: Mutex::new(0),
    })
}

#[aplex::work]
fn lookup(id: u64) -> String {
    let connection = worker_state::<Connection>().expect("every worker opened one");
    connection.query(id)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("threads:");
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(connect)
        .build()?;
    for row in threads.map(blocking(lookup), 0..4) {
        println!("  {}", row?);
    }
    println!("processes:");
    let processes = ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(connect)
        .build()?;
    for row in processes.map(blocking(lookup), 0..4) {
        println!("  {}", row?);
    }
    Ok(())
}
