//! The remote pool end to end on a real `nats-server`: works submitted, mapped and
//! awaited run on nodes (in this process, and as separate processes of this test binary
//! turned into nodes by the environment), every future resolves once, unknown works are
//! answered, queued works can be cancelled (two of one batch too), and two pools on one
//! server stay apart.

extern crate aplex_facade as aplex;

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, RemoteAsyncPoolExecutor};
use aplex::{blocking, Error};

#[aplex::work]
async fn double(x: u64) -> u64 {
    x * 2
}

#[aplex::work]
fn square(x: u64) -> u64 {
    x * x
}

#[aplex::work]
async fn where_am_i(_: ()) -> u32 {
    std::process::id()
}

#[aplex::work]
async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

static RAN: AtomicUsize = AtomicUsize::new(0);

#[aplex::work]
async fn count_run(_: ()) -> usize {
    RAN.fetch_add(1, Ordering::SeqCst) + 1
}

fn server() -> NatsServer {
    NatsServer::start().expect("a nats-server (cargo xtask test provides one)")
}

fn node(server: &NatsServer, pool: &str) -> aplex::remote::NodeHandle {
    NodeBuilder::new(server.url(), pool)
        .max_works_per_worker(64)
        .start()
        .expect("the node starts")
}

#[test]
fn submit_map_and_await_run_on_the_nodes() {
    let server = server();
    let _node = node(&server, "basics");
    let pool = support::builder(&server).pool("basics").build().unwrap();
    assert_eq!(pool.submit(double, 21).result(), Ok(42));
    assert_eq!(pool.submit(blocking(square), 7).result(), Ok(49));
    let mapped: Vec<u64> = pool
        .map(double, 0..1_000u64)
        .chunksize(8)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(mapped, (0..1_000u64).map(|x| x * 2).collect::<Vec<_>>());
    let awaited = futures::executor::block_on(async {
        futures::future::join_all((0..100u64).map(|x| pool.submit(double, x))).await
    });
    assert!(awaited
        .iter()
        .enumerate()
        .all(|(x, r)| *r == Ok(x as u64 * 2)));
    pool.shutdown(true);
}

#[test]
fn a_node_in_another_process_serves_the_pool() {
    let server = server();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(aplex::remote::URL_VARIABLE, server.url())
        .env(aplex::remote::POOL_VARIABLE, "procs")
        .spawn()
        .unwrap();
    let pool = support::builder(&server).pool("procs").build().unwrap();
    let pid = pool.submit(where_am_i, ()).result().unwrap();
    assert_eq!(pid, child.id(), "the work ran in the node process");
    drop(pool);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_queued_work_cancelled_never_runs() {
    let server = server();
    let pool = support::builder(&server).pool("cancel").build().unwrap();
    // No node yet: the work waits on the server.
    let queued = pool.submit(count_run, ());
    assert!(queued.cancel());
    assert_eq!(queued.result(), Err(Error::Cancelled));
    let _node = node(&server, "cancel");
    let after = pool.submit(count_run, ()).result();
    assert_eq!(after, Ok(1), "only the later work ran");
}

#[test]
fn a_running_work_cancelled_is_aborted_on_its_node() {
    let server = server();
    let _node = node(&server, "abort");
    let pool = support::builder(&server).pool("abort").build().unwrap();
    let long = pool.submit(sleep_ms, 600_000);
    support::wait_until("the work runs", || long.running());
    assert!(long.cancel());
    assert_eq!(long.result(), Err(Error::Cancelled));
    // The pool still serves, and its shutdown does not wait for the aborted work.
    assert_eq!(pool.submit(double, 1).result(), Ok(2));
    pool.shutdown(true);
}

#[test]
fn two_pools_on_one_server_never_see_each_others_works() {
    let server = server();
    let _a = node(&server, "pool-a");
    let pool_a = support::builder(&server).pool("pool-a").build().unwrap();
    let pool_b = support::builder(&server).pool("pool-b").build().unwrap();
    let for_b = pool_b.submit(double, 2);
    support::wait_until("pool-b's work is queued", || {
        support::fetched_and_waiting(&server, "pool-b").1 == 1
    });
    // pool-a's node serves a work queued after pool-b's, and leaves pool-b's alone.
    assert_eq!(pool_a.submit(double, 2).result(), Ok(4));
    assert_eq!(support::fetched_and_waiting(&server, "pool-b"), (0, 1));
    assert!(!for_b.done(), "no node of pool-b yet");
    let _b = node(&server, "pool-b");
    assert_eq!(for_b.result(), Ok(4));
}

#[test]
fn a_pool_shut_down_now_deletes_its_queued_works_and_no_one_elses() {
    let server = server();
    let build = || support::builder(&server).pool("purge").build().unwrap();
    let (pool, other) = (build(), build());
    let theirs = other.submit(double, 1);
    let futures: Vec<_> = (0..20_000u64).map(|x| pool.submit(double, x)).collect();
    support::wait_until("every work is queued", || {
        support::works_queued(&server, "purge") == 20_001
    });
    pool.shutdown_now();
    assert!(futures
        .into_iter()
        .all(|f| f.result() == Err(Error::Cancelled)));
    // Only the other submitter's work is left, and a node serves it.
    assert_eq!(support::works_queued(&server, "purge"), 1);
    let _node = node(&server, "purge");
    assert_eq!(theirs.result(), Ok(2));
}

#[test]
fn max_batch_bounds_the_works_in_one_message() {
    let server = server();
    for (pool_name, max_batch) in [("alone", 1), ("fours", 4)] {
        let pool = support::builder(&server)
            .pool(pool_name)
            .max_batch(max_batch)
            .build()
            .unwrap();
        let futures: Vec<_> = (0..200u64).map(|x| pool.submit(double, x)).collect();
        support::wait_until("every work is queued", || {
            support::works_queued(&server, pool_name) == 200
        });
        let sizes = support::works_per_message(&server, pool_name);
        assert!(sizes.iter().all(|&works| works <= max_batch), "{sizes:?}");
        let _node = node(&server, pool_name);
        let results: Vec<_> = futures.into_iter().map(|f| f.result()).collect();
        let expected: Vec<_> = (0..200u64).map(|x| Ok(x * 2)).collect();
        assert_eq!(results, expected);
    }
}

#[test]
fn batches_fit_the_nodes_slots() {
    // A node of 8 slots is live as the pool is built: its batches hold at most a
    // quarter of that (2), though max_batch allows 256, so no node sits on works another
    // could run. (It stops before the works are submitted, so they stay queued to be
    // counted; the pool keeps the size it fitted while the group has no live node.)
    let server = server();
    let probe = support::builder(&server).pool("fitted").build().unwrap();
    let small = NodeBuilder::new(server.url(), "fitted")
        .max_works_per_worker(8)
        .start()
        .unwrap();
    support::wait_until("the node is announced", || {
        probe
            .nodes()
            .unwrap()
            .iter()
            .any(|info| info.max_works == 8)
    });
    let pool = support::builder(&server).pool("fitted").build().unwrap();
    small.stop().unwrap();
    support::wait_until("the node is gone", || probe.nodes().unwrap().is_empty());
    let futures: Vec<_> = (0..200u64).map(|x| pool.submit(double, x)).collect();
    support::wait_until("every work is queued", || {
        support::works_queued(&server, "fitted") == 200
    });
    let sizes = support::works_per_message(&server, "fitted");
    assert!(sizes.iter().all(|&works| works <= 2), "{sizes:?}");
    assert!(sizes.contains(&2), "works still go in batches: {sizes:?}");
    let _node = node(&server, "fitted");
    let results: Vec<_> = futures.into_iter().map(|f| f.result()).collect();
    let expected: Vec<_> = (0..200u64).map(|x| Ok(x * 2)).collect();
    assert_eq!(results, expected);
}

#[test]
fn an_unreachable_server_fails_build_with_a_connect_error() {
    let error = RemoteAsyncPoolExecutor::builder("nats://127.0.0.1:1")
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("cannot connect"), "{error}");
}

#[test]
fn nodes_announce_themselves_and_withdraw_when_they_stop() {
    let server = server();
    let pool = support::builder(&server).pool("seen").build().unwrap();
    let plain = node(&server, "seen");
    let gpu = NodeBuilder::new(server.url(), "seen")
        .group("gpu")
        .start()
        .unwrap();
    support::wait_until("both nodes are announced", || {
        pool.nodes().unwrap().len() == 2
    });
    let mut nodes = pool.nodes().unwrap();
    nodes.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(
        nodes.iter().map(|n| n.group.as_str()).collect::<Vec<_>>(),
        ["any", "gpu"]
    );
    assert!(nodes
        .iter()
        .all(|n| n.pid == std::process::id() && n.max_works > 0));
    assert_eq!(nodes[0].digest, nodes[1].digest, "one build");
    gpu.stop().unwrap();
    support::wait_until("the stopped node is withdrawn", || {
        pool.nodes().unwrap().len() == 1
    });
    assert_eq!(pool.nodes().unwrap()[0].group, "any");
    drop(plain);
}

/// The first id and the size of the first message of several works, of messages of
/// consecutive ids whose sizes are `sizes`.
fn batch_of_several(sizes: &[usize]) -> (usize, usize) {
    let mut first = 0;
    for &size in sizes {
        if size > 1 {
            return (first, size);
        }
        first += size;
    }
    panic!("the works were queued one per message: {sizes:?}");
}

static TWICE_RAN: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

#[aplex::work]
async fn count_item(x: usize) -> usize {
    TWICE_RAN[x].fetch_add(1, Ordering::SeqCst);
    x
}

#[test]
fn two_works_of_a_queued_batch_cancelled_together_never_run() {
    let server = server();
    let pool = support::builder(&server)
        .pool("two-cancels")
        .max_batch(4)
        .build()
        .unwrap();
    let futures: Vec<_> = (0..4).map(|x| pool.submit(count_item, x)).collect();
    support::wait_until("every work is queued", || {
        support::works_queued(&server, "two-cancels") == 4
    });
    let sizes = support::works_per_message(&server, "two-cancels");
    let (first, _) = batch_of_several(&sizes);
    // Back to back, so the second cancel finds the batch already withdrawn by the first.
    assert!(futures[first].cancel());
    assert!(futures[first + 1].cancel());
    let _node = node(&server, "two-cancels");
    let results: Vec<_> = futures.into_iter().map(|future| future.result()).collect();
    let expected: Vec<_> = (0..4)
        .map(|x| {
            if x == first || x == first + 1 {
                Err(Error::Cancelled)
            } else {
                Ok(x)
            }
        })
        .collect();
    assert_eq!(results, expected, "{sizes:?}");
    support::wait_until("nothing is left to run", || {
        support::messages_queued(&server, "two-cancels") == 0
            && pool
                .nodes()
                .is_ok_and(|nodes| nodes.iter().all(|node| node.in_flight == 0))
    });
    for x in [first, first + 1] {
        assert_eq!(
            TWICE_RAN[x].load(Ordering::SeqCst),
            0,
            "cancelled work {x} never ran"
        );
    }
}
