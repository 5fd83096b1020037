//! 100,000 works queued at once across 3 nodes (each its own message on the server): the
//! map completes with every result once, in order.

extern crate aplex_facade as aplex;

mod support;

use aplex::remote::{NatsServer, NodeBuilder};

#[aplex::work]
async fn inc(x: u64) -> u64 {
    x + 1
}

#[test]
fn a_hundred_thousand_queued_works_over_three_nodes_all_complete() {
    let server = NatsServer::start().unwrap();
    let nodes: Vec<_> = (0..3)
        .map(|_| NodeBuilder::new(server.url(), "scale").start().unwrap())
        .collect();
    let pool = support::builder(&server).pool("scale").build().unwrap();
    let started = std::time::Instant::now();
    let results: Vec<u64> = pool
        .map(inc, 0..100_000u64)
        .chunksize(1)
        .collect::<Result<_, _>>()
        .unwrap();
    println!("100,000 works over 3 nodes: {:.2?}", started.elapsed());
    assert_eq!(results.len(), 100_000);
    assert!(results.iter().enumerate().all(|(x, r)| *r == x as u64 + 1));
    drop(pool);
    drop(nodes);
}
