//! The remote pool survives its nodes and its server: a node killed (SIGKILL) in the
//! middle of a map has its works redelivered to the others and the map completes with
//! every item once; a work that kills every node it runs on fails with
//! `Error::Undeliverable` after `max_deliveries`; a server restarted while works are
//! queued loses none of them; a submitter killed (SIGKILL) mid-map leaves no work that
//! starts after its works' expiry. Nodes are separate processes (this test binary, turned into
//! nodes by the environment), with a short `ack_wait` so redelivery is quick.

extern crate aplex_facade as aplex;

mod support;

use std::process::Command;
use std::time::Duration;

use aplex::remote::{NatsServer, RemoteAsyncPoolExecutor};
use aplex::Error;
use support::NodeProcess;

/// The pool's and the nodes' ack wait: a dead node's works come back this fast.
const ACK_WAIT: Duration = Duration::from_millis(1_000);

#[aplex::work]
async fn slow_double(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(2)).await;
    x * 2
}

#[aplex::work]
async fn kill_my_node(_: ()) -> u8 {
    std::process::abort()
}

#[aplex::work]
async fn plus_one(x: u64) -> u64 {
    x + 1
}

/// The variable naming the file where `logged_nap` notes when each run starts.
const STARTS_FILE: &str = "APLEX_TEST_STARTS_FILE";

/// Notes its start (Unix ms) in the starts file, then naps 50 ms.
#[aplex::work]
async fn logged_nap(_: u64) -> u64 {
    if let Some(path) = std::env::var_os(STARTS_FILE) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        writeln!(file, "{}", unix_ms()).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    0
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A node process of pool `pool`, with this file's ack wait.
fn node(server: &NatsServer, pool: &str) -> NodeProcess {
    NodeProcess::start(server, pool, ACK_WAIT, &[])
}

fn pool(server: &NatsServer, name: &str) -> RemoteAsyncPoolExecutor {
    support::builder(server)
        .pool(name)
        .ack_wait(ACK_WAIT)
        .build()
        .unwrap()
}

#[test]
fn a_node_killed_mid_map_has_its_works_redelivered_and_the_map_completes() {
    let server = NatsServer::start().unwrap();
    let pool = pool(&server, "kill9");
    let mut nodes: Vec<NodeProcess> = (0..3).map(|_| node(&server, "kill9")).collect();
    let mut results = Vec::with_capacity(10_000);
    let mut map = pool.map(slow_double, 0..10_000u64).chunksize(4);
    for result in map.by_ref().take(2_000) {
        results.push(result);
    }
    // SIGKILL one node while the map is in full flight.
    let victim = nodes.remove(0);
    support::signal(victim.0.id(), "-9");
    results.extend(map);
    let expected: Vec<Result<u64, Error>> = (0..10_000u64).map(|x| Ok(x * 2)).collect();
    assert_eq!(results, expected, "every item once, in order");
    drop(victim);
}

#[test]
fn a_work_that_kills_every_node_it_runs_on_fails_after_max_deliveries() {
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server)
        .pool("poison")
        .ack_wait(ACK_WAIT)
        .max_deliveries(3)
        .build()
        .unwrap();
    let poison = pool.submit(kill_my_node, ());
    // Each delivery kills the node it reaches: one node at a time, three in all.
    for delivery in 1..=3 {
        let mut node = node(&server, "poison");
        let mut status = None;
        support::wait_until("the node runs the work and dies", || {
            status = node.0.try_wait().unwrap();
            status.is_some()
        });
        assert!(
            !status.unwrap().success(),
            "delivery {delivery} killed its node"
        );
    }
    support::wait_until("the broker gives up", || poison.done());
    assert_eq!(poison.result(), Err(Error::Undeliverable { deliveries: 3 }));
}

#[test]
fn works_queued_across_a_server_restart_are_not_lost() {
    let mut server = NatsServer::start().unwrap();
    let pool = pool(&server, "restart");
    let futures: Vec<_> = (0..200u64).map(|x| pool.submit(plus_one, x)).collect();
    // Every work is on the server (its publish acknowledged) before it goes down.
    support::wait_until("every work is queued", || {
        support::works_queued(&server, "restart") == 200
    });
    server.restart().unwrap();
    let _node = node(&server, "restart");
    let results: Vec<Result<u64, Error>> = futures.into_iter().map(|f| f.result()).collect();
    let expected: Vec<Result<u64, Error>> = (0..200u64).map(|x| Ok(x + 1)).collect();
    assert_eq!(results, expected);
}

/// The submitter half of the next test, run in a process of its own (this test binary,
/// this test, told by the environment): it queues works that expire after 3 s, says so,
/// and waits to be killed.
const SUBMITTER_URL: &str = "APLEX_TEST_SUBMITTER_URL";
const QUEUED: u64 = 2_000;
const EXPIRY: Duration = Duration::from_secs(3);

#[test]
fn a_submitter_killed_mid_map_leaves_no_work_that_starts_after_its_expiry() {
    if let Ok(url) = std::env::var(SUBMITTER_URL) {
        let pool = RemoteAsyncPoolExecutor::builder(url)
            .work_timeout(support::DEADLINE)
            .pool("orphans")
            .queued_expiry(EXPIRY)
            .build()
            .unwrap();
        let map = pool.map(logged_nap, 0..QUEUED).window(QUEUED as usize);
        println!("queued");
        for result in map {
            result.unwrap();
        }
        unreachable!("killed before its map ends");
    }
    let server = NatsServer::start().unwrap();
    let starts = std::env::temp_dir().join(format!("aplex-test-starts-{}", std::process::id()));
    let _ = std::fs::remove_file(&starts);
    let mut submitter = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_submitter_killed_mid_map_leaves_no_work_that_starts_after_its_expiry",
            "--nocapture",
        ])
        .env(SUBMITTER_URL, server.url())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(submitter.stdout.take().unwrap()));
    support::wait_until("the submitter has queued its works", || {
        lines.any(|line| line.is_ok_and(|line| line == "queued"))
    });
    // One node of 16 slots: 2,000 naps of 50 ms would take over 6 s.
    let _node = NodeProcess::start(
        &server,
        "orphans",
        ACK_WAIT,
        &[
            (STARTS_FILE, starts.to_str().unwrap()),
            ("APLEX_REMOTE_MAX_WORKS", "16"),
        ],
    );
    support::wait_until("the node runs the submitter's works", || {
        std::fs::read_to_string(&starts).is_ok_and(|text| text.lines().count() >= 100)
    });
    submitter.kill().unwrap();
    let killed_at = unix_ms();
    submitter.wait().unwrap();
    let orphans = support::works_queued(&server, "orphans");
    assert!(
        orphans >= 500,
        "the submitter died with works queued ({orphans})"
    );
    // The submitter made the queue with the default settings: so does its observer.
    let observer = support::builder(&server).pool("orphans").build().unwrap();
    support::wait_until("the node has nothing left to run", || {
        let queue_empty = support::messages_queued(&server, "orphans") == 0;
        let idle = observer
            .nodes()
            .is_ok_and(|nodes| nodes.iter().all(|node| node.in_flight == 0));
        queue_empty && idle && unix_ms() > killed_at + EXPIRY.as_millis() as u64
    });
    let text = std::fs::read_to_string(&starts).unwrap();
    let started: Vec<u64> = text.lines().map(|line| line.parse().unwrap()).collect();
    let last_start = *started.iter().max().unwrap();
    eprintln!(
        "{orphans} works queued at the kill; {} of {QUEUED} started, the last {} ms after it",
        started.len(),
        last_start as i64 - killed_at as i64
    );
    // Every work expired 3 s after it was queued, before the kill: none starts later
    // (50 ms of slack for the time between a node's check and the work's first line).
    assert!(
        last_start <= killed_at + EXPIRY.as_millis() as u64 + 50,
        "a work started {} ms after the kill",
        last_start - killed_at
    );
    assert!(
        (started.len() as u64) < QUEUED,
        "the expired works never ran ({} of {QUEUED} did)",
        started.len()
    );
    let _ = std::fs::remove_file(&starts);
}

#[test]
fn a_work_that_expired_unanswered_is_given_up_after_its_timeout() {
    let server = NatsServer::start().unwrap();
    let pool = support::builder(&server)
        .pool("expired")
        .queued_expiry(Duration::from_millis(100))
        .work_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // No node: the server drops the work when it expires, and no one ever answers it.
    let future = pool.submit(plus_one, 1);
    support::wait_until("the server dropped the expired work", || {
        support::works_queued(&server, "expired") == 0
    });
    assert_eq!(
        future.result(),
        Err(Error::TimedOut {
            clock: aplex::Clock::Work
        })
    );
    // Its place, and so the drain, are given back once the abort went unanswered.
    let (stopped, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pool.shutdown(true);
        let _ = stopped.send(());
    });
    assert!(
        done.recv_timeout(support::DEADLINE).is_ok(),
        "shutdown(true) returned"
    );
}
