//! Authorization on a real server with per-user subject permissions: a client without
//! credentials can neither submit nor serve; a user allowed only on pool `a` runs pool
//! `a`'s works end to end, and cannot reach pool `b`. The permissions are the ones
//! docs/REMOTE.md shows for confining one pool's users.

extern crate aplex_facade as aplex;

mod support;

use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder};

#[aplex::work]
async fn half(x: u64) -> u64 {
    x / 2
}

/// The server's permissions for the users of one pool, `pool`.
fn pool_permissions(pool: &str) -> String {
    let tasks = format!("APLEX_{pool}_TASKS");
    let results = format!("APLEX_{pool}_RESULTS");
    let nodes = format!("APLEX_{pool}_NODES");
    format!(
        r#"{{
      publish: [
        "aplex.{pool}.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.*.{tasks}", "$JS.API.STREAM.*.{results}",
        "$JS.API.STREAM.MSG.*.{tasks}",
        "$JS.API.STREAM.*.{nodes}", "$JS.API.STREAM.MSG.*.{nodes}",
        "$JS.API.CONSUMER.*.{tasks}", "$JS.API.CONSUMER.*.{tasks}.>",
        "$JS.API.CONSUMER.MSG.NEXT.{tasks}.*",
        "$JS.API.CONSUMER.*.{results}", "$JS.API.CONSUMER.*.{results}.>",
        "$JS.ACK.{tasks}.>", "$JS.FC.{results}.>",
        "_INBOX.>"
      ]
      subscribe: [
        "aplex.{pool}.cancel", "_INBOX.>",
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{tasks}.*"
      ]
    }}"#
    )
}

fn server() -> NatsServer {
    NatsServer::start_with_config(&format!(
        "authorization {{\n  users = [\n    {{ user: alice, password: alpha, permissions: {} }}\n  ]\n}}\n",
        pool_permissions("a")
    ))
    .unwrap()
}

#[test]
fn a_user_confined_to_pool_a_runs_its_works_and_cannot_reach_pool_b() {
    let server = server();
    let _node = NodeBuilder::new(server.url(), "a")
        .user_and_password("alice", "alpha")
        .start()
        .unwrap();
    let pool = support::builder(&server)
        .pool("a")
        .user_and_password("alice", "alpha")
        .build()
        .unwrap();
    assert_eq!(pool.submit(half, 84).result(), Ok(42));
    let outside = support::builder(&server)
        .pool("b")
        .user_and_password("alice", "alpha")
        .build();
    assert!(outside.is_err(), "pool b is out of alice's reach");
}

#[test]
fn without_credentials_nobody_submits_or_serves() {
    let server = server();
    let error = support::builder(&server)
        .pool("a")
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().to_lowercase().contains("author"),
        "{error}"
    );
    let node = NodeBuilder::new(server.url(), "a")
        .connect_timeout(Duration::from_secs(5))
        .start()
        .unwrap()
        .stop();
    assert!(node.is_err(), "a node without credentials cannot serve");
}
