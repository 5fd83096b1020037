//! What the remote tests share: a pool builder whose futures all resolve within a
//! deadline (a hang fails as a timeout instead of stalling the run), a bounded wait for a
//! condition, and what they read off the server itself — how many works and messages
//! wait on a pool's queue (a batch message carries several), and the nodes' consumers'
//! counts; and node processes.
// Each test binary uses a part of this.
#![allow(dead_code)]

use std::future::Future;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use aplex::remote::{
    NatsServer, RemoteAsyncPoolExecutor, RemotePoolBuilder, POOL_VARIABLE, URL_VARIABLE,
};
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::stream::Stream;
use futures::StreamExt;

/// Every work of these tests resolves within this, or fails `TimedOut`.
pub(crate) const DEADLINE: Duration = Duration::from_secs(120);

/// A builder of a pool on `server` whose works time out after [`DEADLINE`].
pub(crate) fn builder(server: &NatsServer) -> RemotePoolBuilder {
    RemoteAsyncPoolExecutor::builder(server.url()).work_timeout(DEADLINE)
}

/// Waits (at most 60 s, looking every 10 ms) until `condition` holds.
pub(crate) fn wait_until(what: &str, condition: impl FnMut() -> bool) {
    wait_until_telling(what, condition, String::new);
}

/// [`wait_until`], saying in its timeout what `state` then tells.
pub(crate) fn wait_until_telling(
    what: &str,
    mut condition: impl FnMut() -> bool,
    state: impl Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting until {what}{}",
            state()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs `future` on a runtime of its own (for the tests' own server calls).
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Pool `pool`'s tasks stream, through a client of its own.
pub(crate) async fn tasks_stream(server: &NatsServer, pool: &str) -> Stream {
    let client = async_nats::connect(server.url()).await.unwrap();
    async_nats::jetstream::new(client)
        .get_stream(format!("APLEX_{pool}_TASKS"))
        .await
        .unwrap()
}

/// Messages on pool `pool`'s tasks stream now.
pub(crate) fn messages_queued(server: &NatsServer, pool: &str) -> u64 {
    block_on(async {
        let mut stream = tasks_stream(server, pool).await;
        stream.info().await.unwrap().state.messages
    })
}

/// Works in the messages on pool `pool`'s tasks stream now.
pub(crate) fn works_queued(server: &NatsServer, pool: &str) -> usize {
    works_per_message(server, pool).iter().sum()
}

/// The works in each message on pool `pool`'s tasks stream now: one per message with an
/// `Aplex-Id`, and a batch's (`Aplex-Batch`) listed in its payload.
pub(crate) fn works_per_message(server: &NatsServer, pool: &str) -> Vec<usize> {
    block_on(async {
        let mut stream = tasks_stream(server, pool).await;
        let state = stream.info().await.unwrap().state.clone();
        let mut works = Vec::new();
        if state.messages == 0 {
            return works;
        }
        for sequence in state.first_sequence..=state.last_sequence {
            let Ok(message) = stream.get_raw_message(sequence).await else {
                continue;
            };
            works.push(if message.headers.get("Aplex-Batch").is_some() {
                let listed: Vec<(u64, serde_bytes::ByteBuf)> =
                    rmp_serde::from_slice(&message.payload).unwrap();
                listed.len()
            } else {
                1
            });
        }
        works
    })
}

/// `(fetched and not acked, waiting)` on pool `pool`'s queue, summed over the nodes'
/// consumers, as the server counts them.
pub(crate) fn fetched_and_waiting(server: &NatsServer, pool: &str) -> (usize, u64) {
    block_on(async {
        let stream = tasks_stream(server, pool).await;
        let mut names = stream.consumer_names();
        let mut counts = (0, 0);
        while let Some(Ok(name)) = names.next().await {
            let mut consumer: PullConsumer = stream.get_consumer(&name).await.unwrap();
            let info = consumer.info().await.unwrap();
            counts.0 += info.num_ack_pending;
            counts.1 += info.num_pending;
        }
        counts
    })
}

/// A node process of a pool: this test binary, turned into a node by its environment
/// (`ack_wait` as the pool's, a 250 ms heartbeat, 64 works at once, then `env`); killed
/// when dropped.
pub(crate) struct NodeProcess(pub(crate) Child);

impl NodeProcess {
    pub(crate) fn start(
        server: &NatsServer,
        pool: &str,
        ack_wait: Duration,
        env: &[(&str, &str)],
    ) -> NodeProcess {
        let child = Command::new(std::env::current_exe().unwrap())
            .env(URL_VARIABLE, server.url())
            .env(POOL_VARIABLE, pool)
            .env("APLEX_REMOTE_ACK_WAIT_MS", ack_wait.as_millis().to_string())
            .env("APLEX_REMOTE_HEARTBEAT_MS", "250")
            .env("APLEX_REMOTE_MAX_WORKS", "64")
            .envs(env.iter().copied())
            .spawn()
            .expect("a node process starts");
        NodeProcess(child)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `signal` (`-STOP`, `-CONT`, `-9`) to process `pid`.
pub(crate) fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, pid.to_string().as_str()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}
