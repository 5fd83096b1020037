//! The remote pool's cases, on a real `nats-server` started for the run with two nodes
//! in this process, next to raw async-nats on the same server: a JetStream publish →
//! pull → ack → reply round trip, and that round trip's throughput with two pullers.

use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, NodeHandle, RemoteAsyncPoolExecutor};
use async_nats::jetstream::{self, consumer::pull, consumer::PullConsumer};
use futures::StreamExt;

use crate::measure::{latencies_taking_turns, quantile, rate, seconds, warm_rate};
use crate::report::{print, Figure};
use crate::works::{echo, sleep_ms};

/// Nodes in each run, as the pool size of the local cases.
const NODES: usize = 2;

/// A server, its nodes and a pool; dropped pool first.
struct Remote {
    pool: RemoteAsyncPoolExecutor,
    _nodes: Vec<NodeHandle>,
    server: NatsServer,
}

fn remote(pool: &str, slots: usize) -> Result<Remote, String> {
    let server = NatsServer::start().map_err(|error| format!("{error}"))?;
    let nodes = (0..NODES)
        .map(|_| {
            NodeBuilder::new(server.url(), pool)
                .max_works_per_worker(slots)
                .start()
                .map_err(|error| error.to_string())
        })
        .collect::<Result<_, _>>()?;
    let pool = RemoteAsyncPoolExecutor::builder(server.url())
        .pool(pool)
        .build()
        .map_err(|error| error.to_string())?;
    Ok(Remote {
        pool,
        _nodes: nodes,
        server,
    })
}

/// Raw JetStream on the same server: a work-queue stream, a durable pull consumer, and
/// `pullers` tasks that pull, ack and reply (core publish to the message's reply header).
struct RawJetStream {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    jetstream: jetstream::Context,
}

impl RawJetStream {
    fn start(url: &str, pullers: usize) -> Result<RawJetStream, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        let (client, jetstream) = runtime.block_on(async {
            let client = async_nats::connect(url).await.map_err(|e| e.to_string())?;
            let jetstream = jetstream::new(client.clone());
            let stream = jetstream
                .get_or_create_stream(jetstream::stream::Config {
                    name: "RAW".into(),
                    subjects: vec!["raw.task".into()],
                    retention: jetstream::stream::RetentionPolicy::WorkQueue,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            let consumer: PullConsumer = stream
                .get_or_create_consumer(
                    "raw",
                    pull::Config {
                        durable_name: Some("raw".into()),
                        max_ack_pending: -1,
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| e.to_string())?;
            for _ in 0..pullers {
                let consumer = consumer.clone();
                let replier = client.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok(mut batch) = consumer
                            .batch()
                            .max_messages(256)
                            .expires(Duration::from_millis(500))
                            .messages()
                            .await
                        else {
                            continue;
                        };
                        while let Some(Ok(message)) = batch.next().await {
                            let reply = message
                                .headers
                                .as_ref()
                                .and_then(|headers| headers.get("Raw-Reply"))
                                .map(|reply| reply.as_str().to_owned());
                            let _ = message.ack().await;
                            if let Some(reply) = reply {
                                let _ = replier.publish(reply, message.payload.clone()).await;
                            }
                        }
                    }
                });
            }
            Ok::<_, String>((client, jetstream))
        })?;
        Ok(RawJetStream {
            runtime,
            client,
            jetstream,
        })
    }

    /// A reply inbox: the headers that point a task's reply to it, and its subscription.
    fn reply_inbox(&self) -> RawRoundTrips<'_> {
        let (headers, replies) = self.runtime.block_on(async {
            let inbox = self.client.new_inbox();
            let replies = self.client.subscribe(inbox.clone()).await.unwrap();
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Raw-Reply", inbox.as_str());
            (headers, replies)
        });
        RawRoundTrips {
            raw: self,
            headers,
            replies,
        }
    }

    /// Publishes task `i` with `headers` and waits for its acknowledgement.
    async fn publish(&self, headers: async_nats::HeaderMap, i: u64) {
        self.jetstream
            .publish_with_headers("raw.task", headers, i.to_string().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// Sends `count` tasks at once (each publish acknowledged) and waits for every reply.
    fn round_trips(&self, count: usize) {
        let RawRoundTrips {
            headers,
            mut replies,
            ..
        } = self.reply_inbox();
        self.runtime.block_on(async {
            // Each publish awaits its own ack (the client bounds the acks in flight).
            futures::future::join_all((0..count as u64).map(|i| self.publish(headers.clone(), i)))
                .await;
            for _ in 0..count {
                replies.next().await.unwrap();
            }
        });
    }
}

/// [`RawJetStream::reply_inbox`]: tasks published (and acknowledged) with their replies
/// sent to one inbox; [`round_trip`](Self::round_trip) makes one at a time, to take
/// turns with ours.
struct RawRoundTrips<'a> {
    raw: &'a RawJetStream,
    /// Point a task's reply to the inbox.
    headers: async_nats::HeaderMap,
    replies: async_nats::Subscriber,
}

impl RawRoundTrips<'_> {
    fn round_trip(&mut self, i: u64) {
        let raw = self.raw;
        raw.runtime.block_on(async {
            raw.publish(self.headers.clone(), i).await;
            self.replies.next().await.unwrap();
        });
    }
}

/// The remote round trip against raw JetStream's, taking turns as the other latency
/// cases do (`measure.rs`): measured one after the other, the two met different
/// machines on these VMs.
pub(crate) fn remote_latency(calls: usize) -> Result<(), String> {
    let remote = remote("bench-latency", 300)?;
    let raw = RawJetStream::start(&remote.server.url(), NODES)?;
    let mut raw_round_trips = raw.reply_inbox();
    let [ours, limit] = latencies_taking_turns(
        calls,
        [
            &mut |x| assert_eq!(remote.pool.submit(echo, x).result(), Ok(x)),
            &mut |x| raw_round_trips.round_trip(x),
        ],
    );
    for (name, q) in ["remote_latency_median", "remote_latency_p99"]
        .into_iter()
        .zip([0.5, 0.99])
    {
        print(&Figure {
            name,
            unit: "us",
            ours: quantile(&ours, q),
            limit: Some(quantile(&limit, q)),
            peer: None,
        });
    }
    Ok(())
}

pub(crate) fn remote_map(items: usize) -> Result<(), String> {
    let remote = remote("bench-map", 300)?;
    let raw = RawJetStream::start(&remote.server.url(), NODES)?;
    let ours = warm_rate(items, || {
        remote.pool.map(echo, 0..items as u64).chunksize(1).count()
    });
    raw.round_trips(items.min(1_000));
    let limit = rate(items, || {
        raw.round_trips(items);
    });
    print(&Figure {
        name: "remote_map_cs1",
        unit: "works/s",
        ours,
        limit: Some(limit),
        peer: None,
    });
    Ok(())
}

pub(crate) fn remote_sleepers(count: usize, sleep: u64) -> Result<(), String> {
    let remote = remote("bench-sleepers", count.div_ceil(NODES))?;
    remote.pool.submit(sleep_ms, 1).result().unwrap();
    let wall = seconds(|| {
        let futures: Vec<_> = (0..count)
            .map(|_| remote.pool.submit(sleep_ms, sleep))
            .collect();
        for future in futures {
            future.result().unwrap();
        }
    });
    print(&Figure {
        name: "remote_sleepers_wall",
        unit: "ms",
        ours: wall * 1e3,
        limit: Some(sleep as f64),
        peer: None,
    });
    Ok(())
}
