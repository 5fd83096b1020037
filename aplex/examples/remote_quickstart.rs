//! The quickstart across machines (here, on one): it starts a `nats-server` with
//! JetStream, three worker nodes (this same program, made nodes by two environment
//! variables), and an HTTP server; then it fetches 2,001 pages through a
//! `RemoteAsyncPoolExecutor`: one `submit`, a `map` with a timeout, and the same awaited,
//! printing the statuses and how many pages each node fetched.
//!
//! Run it with `cargo run --release --features remote --example remote_quickstart`
//! (it needs `nats-server`: `apt-get install nats-server`). On real hosts, run the nodes
//! there instead (docs/REMOTE.md).

mod hello_server;

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aplex::remote::{NatsServer, RemoteAsyncPoolExecutor, POOL_VARIABLE, URL_VARIABLE};
use aplex::Error;
use futures::StreamExt;

/// A page's HTTP status and the node (pid) that fetched it, or why the fetch failed.
type Fetched = Result<(u16, u32), String>;

/// The work: GET `url` with this node's one HTTP client.
#[aplex::work]
async fn fetch(url: String) -> Fetched {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    let client = CLIENT.get_or_init(reqwest::Client::new);
    let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    response.bytes().await.map_err(|e| e.to_string())?;
    Ok((status, std::process::id()))
}

/// Counts statuses and pages per node.
fn tally(outcomes: &[Result<Fetched, Error>]) -> String {
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut nodes: BTreeMap<u32, usize> = BTreeMap::new();
    let mut failures = 0;
    for outcome in outcomes {
        match outcome {
            Ok(Ok((status, node))) => {
                *statuses.entry(*status).or_default() += 1;
                *nodes.entry(*node).or_default() += 1;
            }
            _ => failures += 1,
        }
    }
    format!(
        "{} pages, statuses {statuses:?}, failures {failures}\n  pages per node (pid) {nodes:?}",
        outcomes.len()
    )
}

/// A node process; stopped (SIGTERM: it finishes its works) when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = NatsServer::start()?;
    let nodes: Vec<Node> = (0..3)
        .map(|_| {
            Command::new(std::env::current_exe()?)
                .env(URL_VARIABLE, server.url())
                .env(POOL_VARIABLE, "quickstart")
                .spawn()
                .map(Node)
        })
        .collect::<Result<_, _>>()?;
    println!(
        "nats-server at {}, nodes {:?}",
        server.url(),
        nodes.iter().map(|node| node.0.id()).collect::<Vec<_>>()
    );
    let url = format!("http://{}/", hello_server::start());
    let started = Instant::now();
    let pool = RemoteAsyncPoolExecutor::builder(server.url())
        .pool("quickstart")
        .build()?;

    let (status, node) = pool.submit(fetch, url.clone()).result()??;
    println!("Status: {status} (fetched by node {node})");

    let outcomes: Vec<_> = pool
        .map(fetch, std::iter::repeat_n(url.clone(), 1000))
        .timeout(Duration::from_secs(60))
        .collect();
    println!("map: {}", tally(&outcomes));

    let awaited: Vec<_> = futures::executor::block_on(
        pool.map(fetch, std::iter::repeat_n(url.clone(), 1000))
            .timeout(Duration::from_secs(60))
            .into_stream()
            .collect(),
    );
    println!("awaited: {}", tally(&awaited));

    pool.shutdown(true);
    drop(nodes);
    println!("elapsed: {:.2?}", started.elapsed());
    Ok(())
}
