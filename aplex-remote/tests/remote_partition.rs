//! Several hosts for real: the server, the submitter and three nodes each in a network
//! namespace of its own, wired to a bridge in another, on one machine (needs root; CI runs
//! as root). The nodes reach the server through a delaying proxy (2 ms each way, this
//! kernel having no `netem`) that drops their connections twice mid-map: the map is
//! complete and correct. Then one node's cable is unplugged mid-map: its works finish on
//! the others and the map is complete and correct; plugged back, it serves again.

extern crate aplex_facade as aplex;

mod partition;
mod support;

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aplex::remote::{NatsServer, RemoteAsyncPoolExecutor, POOL_VARIABLE, URL_VARIABLE};
use aplex::Error;
use partition::delay_proxy::DelayProxy;
use partition::lab::Lab;

/// The works of the maps: sleep `ms`, then answer `x * 2` and the node's pid.
#[aplex::work]
async fn double_after(input: (u64, u64)) -> (u64, u32) {
    let (x, ms) = input;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    (x * 2, std::process::id())
}

const POOL: &str = "partition";
/// A node's works come back this soon when its node is cut off.
const ACK_WAIT: Duration = Duration::from_millis(1_000);
/// What the proxy adds in each direction.
const ADDED_LATENCY: Duration = Duration::from_millis(2);
/// Works per map.
const WORKS: u64 = 3_000;
/// Works per node at once.
const SLOTS: usize = 32;

/// A process killed and reaped when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_pool_is_correct_across_hosts_with_latency_dropped_connections_and_an_unplugged_node() {
    let mut lab = Lab::new().expect("this test makes network namespaces: run it as root");
    let server_host = lab.host("srv", 1).unwrap();
    let submitter_host = lab.host("sub", 2).unwrap();
    let node_hosts: Vec<_> = (1..=3)
        .map(|n| lab.host(&format!("n{n}"), 10 + n).unwrap())
        .collect();

    let store = std::env::temp_dir().join(format!("aplex-test-partition-{}", std::process::id()));
    let _server = Process(
        lab.command(&server_host, NatsServer::binary().unwrap())
            .args(["-a", "0.0.0.0", "-p", "4222", "-js", "-sd"])
            .arg(&store)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // From here on this thread, the pool's threads and the proxy are on the submitter's host.
    lab.enter(&submitter_host).unwrap();
    let server: SocketAddr = format!("{}:4222", server_host.address).parse().unwrap();
    support::wait_until("the server listens", || TcpStream::connect(server).is_ok());
    let proxy = DelayProxy::start(
        &format!("{}:0", submitter_host.address),
        server,
        ADDED_LATENCY,
    )
    .unwrap();

    let pool = RemoteAsyncPoolExecutor::builder(format!("nats://{server}"))
        .pool(POOL)
        .ack_wait(ACK_WAIT)
        .max_deliveries(10)
        .work_timeout(support::DEADLINE)
        .build()
        .unwrap();
    let nodes: Vec<Process> = node_hosts
        .iter()
        .map(|host| {
            let child = lab
                .command(host, std::env::current_exe().unwrap())
                .env(URL_VARIABLE, format!("nats://{}", proxy.address()))
                .env(POOL_VARIABLE, POOL)
                .env("APLEX_REMOTE_ACK_WAIT_MS", ACK_WAIT.as_millis().to_string())
                .env("APLEX_REMOTE_HEARTBEAT_MS", "250")
                .env("APLEX_REMOTE_MAX_WORKS", SLOTS.to_string())
                .stdin(Stdio::null())
                .spawn()
                .unwrap();
            Process(child)
        })
        .collect();
    let pids: Vec<u32> = nodes.iter().map(|node| node.0.id()).collect();
    support::wait_until("the three nodes announce themselves", || {
        pool.nodes().is_ok_and(|nodes| nodes.len() == 3)
    });

    // 1. Through 2 ms of added latency, every node's connection dropped twice mid-map.
    let began = Instant::now();
    let results = map_during(&pool, |progress| {
        for at in [300, 1_000] {
            // Cut when the map is this far on and every node is connected again.
            wait_for(progress, at, || proxy.carrying() >= 3);
            let cut = proxy.cut();
            assert!(cut >= 3, "every node's connection dropped ({cut} cut)");
            eprintln!("phase 1: {cut} connections cut at {at} works completed");
        }
    });
    let answered_by = check(&results);
    for pid in &pids {
        assert!(answered_by.contains(pid), "node {pid} took part");
    }
    eprintln!(
        "phase 1: {WORKS} works correct in {:?}, per node {:?}",
        began.elapsed(),
        per_node(&results, &pids)
    );

    // 2. One node's cable unplugged mid-map: its works finish on the others.
    let (unplugged, unplugged_pid) = (&node_hosts[0], pids[0]);
    let began = Instant::now();
    let results = map_during(&pool, |progress| {
        wait_for(progress, 300, || true);
        lab.unplug(unplugged).unwrap();
        eprintln!("phase 2: node {unplugged_pid} unplugged at 300 works completed");
    });
    check(&results);
    eprintln!(
        "phase 2: {WORKS} works correct in {:?}, per node {:?}",
        began.elapsed(),
        per_node(&results, &pids)
    );

    // 3. Plugged back, it serves again.
    lab.replug(unplugged).unwrap();
    let began = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let batch: Vec<_> = pool.map(double_after, (0..96).map(|x| (x, 10))).collect();
        if check(&batch).contains(&unplugged_pid) {
            eprintln!(
                "phase 3: node {unplugged_pid} serves {:?} after replug",
                began.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the plugged-back node serves again"
        );
    }
    pool.shutdown(true);
    drop(nodes);
    let _ = std::fs::remove_dir_all(&store);
}

/// Runs a map of [`WORKS`] works of 50 ms while `faults` runs on a thread of its own,
/// given how many works of this map the pool has completed so far (the map's results
/// come in order, so a late one holds them back while the others complete: what the
/// faults wait for is the pool's count, not the results read).
fn map_during(
    pool: &RemoteAsyncPoolExecutor,
    faults: impl FnOnce(&dyn Fn() -> u64) + Send,
) -> Vec<Result<(u64, u32), Error>> {
    let start = completed(pool);
    std::thread::scope(|scope| {
        scope.spawn(move || faults(&|| completed(pool) - start));
        pool.map(double_after, (0..WORKS).map(|x| (x, 50)))
            .collect()
    })
}

/// Waits until `progress` reaches `works` and `ready` holds, and asserts the map is
/// still in flight then (a fault after the last work would test nothing).
fn wait_for(progress: &dyn Fn() -> u64, works: u64, ready: impl Fn() -> bool) {
    // Which of the two never came, should it not.
    support::wait_until_telling(
        "the map is far enough on with every node connected",
        || progress() >= works && ready(),
        || {
            format!(
                ": {} of {works} works on, every node connected: {}",
                progress(),
                ready()
            )
        },
    );
    let done = progress();
    assert!(
        done < WORKS,
        "the map is still in flight ({done} of {WORKS} works completed)"
    );
}

/// Works the pool has seen completed.
fn completed(pool: &RemoteAsyncPoolExecutor) -> u64 {
    pool.stats()
        .workers
        .iter()
        .map(|worker| worker.completed)
        .sum()
}

/// Asserts `results` are `(x * 2, pid)` for `x` in order; returns the pids that answered.
fn check(results: &[Result<(u64, u32), Error>]) -> Vec<u32> {
    let mut pids = Vec::new();
    for (x, result) in results.iter().enumerate() {
        let (doubled, pid) = result
            .as_ref()
            .unwrap_or_else(|error| panic!("work {x} failed: {error}"));
        assert_eq!(*doubled, x as u64 * 2, "work {x}'s result");
        if !pids.contains(pid) {
            pids.push(*pid);
        }
    }
    pids
}

/// How many of `results` each node answered, in the order of `pids`.
fn per_node(results: &[Result<(u64, u32), Error>], pids: &[u32]) -> Vec<usize> {
    let answered_by = |pid: &u32| {
        let by = |result: &&Result<(u64, u32), Error>| matches!(result, Ok((_, p)) if p == pid);
        results.iter().filter(by).count()
    };
    pids.iter().map(answered_by).collect()
}
