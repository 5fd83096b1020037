//! `RemotePoolBuilder`: the settings that make sense for a pool of remote nodes — the
//! server and its credentials, the pool's name, the local queue bound, timeouts, the
//! grace period, and how the server holds works (ack wait, deliveries, expiry).
//!
//! The node count is not a setting (nodes come and go), nor is a custom balancer: the
//! broker's pull is the balancer (a node pulls only when it has a free slot, so the least
//! loaded takes the next work), and `load_balancing_meta` (`WorkOptions::meta` with a
//! group name) routes a work to a named group of nodes.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use aplex_balance::RoundRobin;
use aplex_core::backend::{new_pool, Executor, PoolOptions};
use aplex_core::registry::registry;
use aplex_core::{BuildError, LoadBalancer};

use crate::broker::jetstream::JetStreamBroker;
use crate::broker::{Broker, QueueSettings};
use crate::connect::{connect_settings, ConnectSettings};
use crate::names::{PoolNames, DEFAULT_GROUP};
use crate::pool::client::Client;
use crate::pool::queue_check::{settle, ChosenQueueSettings};
use crate::pool::worker::{serve, RemoteWorker};
use crate::pool::RemoteAsyncPoolExecutor;
use crate::settings::{
    DEFAULT_ACK_WAIT, DEFAULT_MAX_BATCH, DEFAULT_MAX_DELIVERIES, DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_QUEUED_EXPIRY,
};

/// The default pool name.
pub const DEFAULT_POOL: &str = "default";

/// Builds a [`RemoteAsyncPoolExecutor`].
///
/// # Examples
///
/// ```no_run
/// # extern crate aplex_facade as aplex;
/// use std::time::Duration;
///
/// let pool = aplex::remote::RemoteAsyncPoolExecutor::builder("nats://127.0.0.1:4222")
///     .pool("crawl")
///     .user_and_password("submitter", "secret")
///     .work_timeout(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), aplex::BuildError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct RemotePoolBuilder {
    connect: ConnectSettings,
    pool: String,
    options: PoolOptions,
    max_in_flight: usize,
    max_batch: usize,
    queue: QueueSettings,
    /// Which of `queue` the user chose (checked against the server's at `build()`).
    chosen: ChosenQueueSettings,
    balancer_given: bool,
}

impl std::fmt::Debug for RemotePoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemotePoolBuilder")
            .field("url", &self.connect.url())
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl RemotePoolBuilder {
    /// A builder for a pool on the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RemotePoolBuilder {
            connect: ConnectSettings::new(url),
            pool: DEFAULT_POOL.to_owned(),
            options: PoolOptions::default(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_batch: DEFAULT_MAX_BATCH,
            queue: QueueSettings {
                ack_wait: DEFAULT_ACK_WAIT,
                max_deliveries: DEFAULT_MAX_DELIVERIES,
                max_age: DEFAULT_QUEUED_EXPIRY,
            },
            chosen: ChosenQueueSettings::default(),
            balancer_given: false,
        }
    }

    connect_settings!();

    /// The pool's name (default `default`): pools of different names share a server
    /// without seeing each other's works; nodes serve the pool they name.
    pub fn pool(mut self, name: impl Into<String>) -> Self {
        self.pool = name.into();
        self
    }

    /// The most works queued on the server or running at once; beyond it, works wait in
    /// this process (default 2^20).
    pub fn max_in_flight(mut self, works: usize) -> Self {
        self.max_in_flight = works;
        self
    }

    /// The most works of one kind submitted together that share one message (default
    /// 256): the server stores, delivers and acks a batch once, so tiny works flow many
    /// times faster; a node then holds a whole batch (its extra works wait for a slot
    /// there). Batches are also kept to a quarter of the smallest live node's
    /// `max_works_per_worker` (read from the nodes' announcements), so one node never
    /// sits on works another could run: nodes of one slot get every work alone. 1 sends
    /// every work alone whatever the nodes.
    pub fn max_batch(mut self, works: usize) -> Self {
        self.max_batch = works;
        self
    }

    /// The most works waiting in this process beyond `max_in_flight` (default: no bound).
    pub fn max_pending(mut self, max: usize) -> Self {
        self.options.max_pending = Some(max);
        self
    }

    /// A default timeout for every work (`WorkOptions::timeout` overrides it).
    pub fn work_timeout(mut self, timeout: Duration) -> Self {
        self.options.work_timeout = Some(timeout);
        self
    }

    /// How long `Drop` and `shutdown_now` wait for the client to stop.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.options.shutdown_grace = grace;
        self
    }

    /// Refused at `build()`: a remote pool balances by the broker's pull. Route works to
    /// a named group of nodes with `WorkOptions::meta("group")` instead.
    pub fn load_balancer(mut self, balancer: impl LoadBalancer + 'static) -> Self {
        drop(balancer);
        self.balancer_given = true;
        self
    }

    /// How long a node may hold a work without a heartbeat before the server redelivers
    /// it to another node (default 15 s, at most 100 years); the nodes' heartbeat must be
    /// well under it.
    ///
    /// This and [`max_deliveries`](Self::max_deliveries) and
    /// [`queued_expiry`](Self::queued_expiry) are the queue's on the server, set by the
    /// pool or node that makes it first: a pool whose queue exists takes the server's
    /// values for those left unset, and `build()` refuses one set here that the server
    /// does not hold (`InvalidConfig` naming it and the server's value; a shorter
    /// `queued_expiry` is kept, as each work carries its own).
    pub fn ack_wait(mut self, ack_wait: Duration) -> Self {
        self.queue.ack_wait = ack_wait;
        self.chosen.ack_wait = true;
        self
    }

    /// How many times a work is delivered before its future fails with
    /// `Error::Undeliverable` (default 3).
    pub fn max_deliveries(mut self, deliveries: u32) -> Self {
        self.queue.max_deliveries = deliveries;
        self.chosen.max_deliveries = true;
        self
    }

    /// How long a queued work waits for a node before it expires (default 1 h, at most
    /// 100 years). A work that expires is never started; its submitter's future is
    /// resolved by the work's timeout (`work_timeout`, `WorkOptions::timeout`), so give
    /// the works of a pool whose nodes may all be gone one.
    pub fn queued_expiry(mut self, expiry: Duration) -> Self {
        self.queue.max_age = expiry;
        self.chosen.queued_expiry = true;
        self
    }

    /// Connects (within the connect timeout), makes the pool's queue if missing and
    /// starts the pool's client.
    pub fn build(self) -> Result<RemoteAsyncPoolExecutor, BuildError> {
        if self.balancer_given {
            return Err(BuildError::invalid_setting(
                "load_balancer",
                "a remote pool is balanced by the broker's pull (a node takes a work only \
                 when it has a free slot, so the least loaded node takes the next one); \
                 route works to a named group of nodes with WorkOptions::meta(\"group\")",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(BuildError::invalid_setting(
                "max_in_flight",
                "a remote pool must be allowed at least 1 work in flight",
            ));
        }
        if self.max_batch == 0 {
            return Err(BuildError::invalid_setting(
                "max_batch",
                "a message carries at least 1 work (1: every work alone)",
            ));
        }
        if self.queue.max_deliveries == 0 {
            return Err(BuildError::invalid_setting(
                "max_deliveries",
                "a work must be delivered at least once",
            ));
        }
        if self.queue.ack_wait.is_zero() {
            return Err(BuildError::invalid_setting(
                "ack_wait",
                "must be longer than zero (a node has this long to answer or heartbeat)",
            ));
        }
        if self.queue.max_age.is_zero() {
            return Err(BuildError::invalid_setting(
                "queued_expiry",
                "must be longer than zero (a queued work would expire at once)",
            ));
        }
        for (setting, duration) in [
            ("ack_wait", self.queue.ack_wait),
            ("queued_expiry", self.queue.max_age),
        ] {
            if duration > LONGEST_SERVER_DURATION {
                return Err(BuildError::invalid_setting(
                    setting,
                    "at most 100 years: the server counts it in nanoseconds, in 64 bits",
                ));
            }
        }
        let names = PoolNames::new(&self.pool)?;
        crate::node::bootstrap::ensure_linked();
        let mut options = self.options;
        options.pool_size = Some(1);
        options.max_works_per_worker = self.max_in_flight;
        options.max_blocking_works_per_worker = self.max_in_flight;
        let grace = options.shutdown_grace;
        let connect = self.connect;
        let queue = (self.queue, self.chosen);
        let max_batch = self.max_batch;
        let executor = Executor::start(
            options,
            || Box::new(RoundRobin::default()),
            |seat| start_client(seat, &connect, &names, queue.clone(), max_batch),
        )?;
        Ok(RemoteAsyncPoolExecutor::from_pool(new_pool(
            executor, grace,
        )))
    }
}

/// The longest `ack_wait` or `queued_expiry` taken: the server keeps durations as signed
/// 64-bit nanoseconds (292 years), which a longer one would wrap.
const LONGEST_SERVER_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// A submitter id unique on the server: this process and this moment.
fn submitter_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.as_nanos() as u64)
        .unwrap_or(0);
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Starts the pool's client on a thread of its own: connects, makes the queue, listens
/// for results; an error if any of that fails.
fn start_client(
    seat: aplex_core::backend::WorkerSeat,
    connect: &ConnectSettings,
    names: &PoolNames,
    (queue, chosen): (QueueSettings, ChosenQueueSettings),
    max_batch: usize,
) -> Result<RemoteWorker, BuildError> {
    let (connect, names) = (connect.clone(), names.clone());
    let (ready_tx, ready) = mpsc::sync_channel::<Result<(), BuildError>>(1);
    let failed = |reason: String| BuildError::worker_start(0, reason, None);
    let worker = RemoteWorker::start(format!("remote:{}", names.pool()), move |commands| {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = ready_tx.send(Err(failed(format!("cannot build its runtime: {error}"))));
                return;
            }
        };
        runtime.block_on(async move {
            let submitter = submitter_id();
            let setup = async {
                let client = connect
                    .connect(&format!("aplex-pool-{submitter}"))
                    .await
                    .map_err(failed)?;
                let broker: Arc<dyn Broker> =
                    Arc::new(JetStreamBroker::new(client, names.clone(), queue.clone()));
                let digest = registry().digest();
                let broker_failed = |error: crate::broker::BrokerError| {
                    failed(format!(
                        "cannot prepare the pool's queue on the server: {error}"
                    ))
                };
                let held = broker
                    .prepare(digest, DEFAULT_GROUP)
                    .await
                    .map_err(broker_failed)?;
                let queue = settle(names.pool(), &queue, chosen, &held)?;
                let results = broker.results(&submitter).await.map_err(broker_failed)?;
                let gave_up = broker.gave_up().await.map_err(broker_failed)?;
                Ok::<_, BuildError>((broker, digest, queue, results, gave_up))
            };
            match setup.await {
                Err(refused) => {
                    let _ = ready_tx.send(Err(refused));
                }
                Ok((broker, digest, queue, results, gave_up)) => {
                    let (client, again) = Client::new(
                        broker,
                        seat.events,
                        submitter.clone(),
                        names.result_subject(&submitter),
                        digest,
                        queue.max_age,
                        max_batch,
                    );
                    client.batch_sizes.refit(&*client.broker).await;
                    let _ = ready_tx.send(Ok(()));
                    serve(Arc::new(client), again, commands, results, gave_up).await;
                }
            }
        });
    })
    .map_err(|error| {
        BuildError::worker_start(0, "cannot start its client thread", Some(error.into()))
    })?;
    match ready.recv() {
        Ok(Ok(())) => Ok(worker),
        Ok(Err(refused)) => Err(refused),
        Err(_) => Err(BuildError::worker_start(0, "its client thread died", None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings are checked before any connection: no server is needed to refuse them.
    #[test]
    fn invalid_settings_are_refused_at_build_naming_the_setting() {
        let builder = || RemotePoolBuilder::new("nats://127.0.0.1:1");
        let refused = [
            (builder().max_batch(0), "max_batch"),
            (builder().max_in_flight(0), "max_in_flight"),
            (builder().max_deliveries(0), "max_deliveries"),
            (builder().ack_wait(Duration::ZERO), "ack_wait"),
            (builder().ack_wait(Duration::MAX), "ack_wait"),
            (builder().queued_expiry(Duration::ZERO), "queued_expiry"),
            (builder().queued_expiry(Duration::MAX), "queued_expiry"),
            (builder().pool("a.b"), "pool"),
            (
                builder().load_balancer(RoundRobin::default()),
                "load_balancer",
            ),
        ];
        for (builder, setting) in refused {
            let error = builder.build().unwrap_err();
            assert_eq!(error.setting(), Some(setting), "{error}");
        }
    }
}
