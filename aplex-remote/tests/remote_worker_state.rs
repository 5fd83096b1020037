//! A node's worker state: made once as the node starts by a `#[aplex::worker_state]`
//! function (given to `NodeBuilder::worker_state`, or named by `APLEX_REMOTE_WORKER_STATE`
//! to the zero-line node), reached by every work on that node; a maker that fails stops
//! the node from starting with its message, and a function not marked is refused.

extern crate aplex_facade as aplex;

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, RemoteAsyncPoolExecutor};

/// What each node keeps: who made it, and how many works used it.
struct Counter {
    pid: u32,
    worker: usize,
    hits: AtomicUsize,
}

#[aplex::worker_state]
fn open_counter(worker: usize) -> Result<Counter, String> {
    Ok(Counter {
        pid: std::process::id(),
        worker,
        hits: AtomicUsize::new(0),
    })
}

#[aplex::worker_state]
fn refuse_to_open(_worker: usize) -> Result<Counter, String> {
    Err("the database is down".into())
}

fn not_marked(_worker: usize) -> Result<Counter, String> {
    Err("never called".into())
}

/// `(pid that made the state, its worker index, hits so far)`.
#[aplex::work]
async fn hit(_: ()) -> Option<(u32, usize, usize)> {
    let counter = aplex::worker_state::<Counter>()?;
    let hits = counter.hits.fetch_add(1, Ordering::SeqCst) + 1;
    Some((counter.pid, counter.worker, hits))
}

fn pool(server: &NatsServer, name: &str) -> RemoteAsyncPoolExecutor {
    support::builder(server).pool(name).build().unwrap()
}

#[test]
fn works_on_a_node_reach_the_state_it_made_as_it_started() {
    let server = NatsServer::start().unwrap();
    let _node = NodeBuilder::new(server.url(), "state")
        .worker_state(open_counter)
        .start()
        .unwrap();
    let pool = pool(&server, "state");
    let me = std::process::id();
    assert_eq!(pool.submit(hit, ()).result(), Ok(Some((me, 0, 1))));
    assert_eq!(pool.submit(hit, ()).result(), Ok(Some((me, 0, 2))));
}

#[test]
fn the_zero_line_node_makes_the_state_named_in_its_environment() {
    let server = NatsServer::start().unwrap();
    let mut node = std::process::Command::new(std::env::current_exe().unwrap())
        .env(aplex::remote::URL_VARIABLE, server.url())
        .env(aplex::remote::POOL_VARIABLE, "named")
        .env(
            "APLEX_REMOTE_WORKER_STATE",
            aplex_core::registry::type_name_of(&open_counter),
        )
        .spawn()
        .unwrap();
    let pool = pool(&server, "named");
    let answer = pool.submit(hit, ()).result();
    let _ = node.kill();
    let _ = node.wait();
    assert_eq!(
        answer,
        Ok(Some((node.id(), 0, 1))),
        "made in the node process"
    );
}

#[test]
fn a_failing_maker_stops_the_node_from_starting_with_its_message() {
    let server = NatsServer::start().unwrap();
    let url = server.url();
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let served = NodeBuilder::new(url, "broken")
            .worker_state(refuse_to_open)
            .serve();
        let _ = done.send(served);
    });
    let served = outcome
        .recv_timeout(Duration::from_secs(30))
        .expect("serve() returns at once");
    let error = served.unwrap_err().to_string();
    assert!(error.contains("the database is down"), "{error}");
}

#[test]
fn a_function_not_marked_worker_state_is_refused_at_start() {
    let error = NodeBuilder::new("nats://127.0.0.1:1", "unmarked")
        .worker_state(not_marked)
        .start()
        .unwrap_err()
        .to_string();
    assert!(error.contains("#[aplex::worker_state]"), "{error}");
}
