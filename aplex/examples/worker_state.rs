//! Per-worker state, mpire's most asked-for feature: each worker makes its own value
//! once — here a stand-in for a database connection — and every work on that worker uses
//! it through `aplex::worker_state`, instead of reaching a global.
//!
//! Run it with `cargo run --example worker_state`.

use std::sync::Mutex;

use aplex::{blocking, worker_state, ThreadAsyncPoolExecutor};

/// A stand-in for a connection each worker opens once.
struct Connection {
    worker: usize,
    queries: Mutex<u64>,
}

impl Connection {
    fn query(&self, id: u64) -> String {
        *self.queries.lock().unwrap() += 1;
        format!("row {id} (via worker {}'s connection)", self.worker)
    }
}

fn lookup(id: u64) -> String {
    let connection = worker_state::<Connection>().expect("every worker opened one");
    connection.query(id)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_state(|worker| {
            println!("worker {worker}: connecting");
            Ok(Connection {
                worker,
                queries: Mutex::new(0),
            })
        })
        .build()?;
    let rows: Vec<String> = pool.map(blocking(lookup), 0..6).collect::<Result<_, _>>()?;
    for row in rows {
        println!("{row}");
    }
    Ok(())
}
