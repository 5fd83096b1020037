//! A remote worker node: any machine running the user's own binary serves a pool's works
//! from the server, up to `max_works_per_worker` at once on its own tokio runtime.
//!
//! - [`NodeBuilder::serve`] (or [`serve`]) is the explicit entry; `bootstrap.rs` is the
//!   zero-line one (`APLEX_REMOTE_URL` and `APLEX_REMOTE_POOL` in the environment turn the
//!   program into a node before `main`).
//! - A node pulls only as many works as it has free slots (`pull.rs`), so the least
//!   loaded node takes the next work; each runs as a job of the same local loop a thread
//!   or process worker runs (`aplex_core::backend::local`), heartbeats while it runs and
//!   is answered as `answer.rs` says.
//! - It announces itself (`announce.rs`) every heartbeat in the pool's nodes bucket.
//! - SIGTERM or SIGINT (or [`NodeHandle::stop`]): the node stops pulling, lets its works
//!   finish for `shutdown_grace`, hands back (nak) those still running, and returns. What
//!   it hands back is delivered again once its open fetches are over (`hand_back.rs`).

pub(crate) mod announce;
mod answer;
pub(crate) mod bootstrap;
mod hand_back;
mod outbox;
mod pull;
mod slots;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use aplex_core::backend::local::{serve_local, LocalMessage, OnFinished};
use aplex_core::backend::{CloseMode, WorkerStateValue};
use aplex_core::registry::{registry, Trampoline};
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::broker::jetstream::JetStreamBroker;
use crate::broker::{Broker, QueueSettings};
use crate::connect::{connect_settings, ConnectSettings};
use crate::names::{check_token, PoolNames, DEFAULT_GROUP};
use crate::settings::{
    DEFAULT_ACK_WAIT, DEFAULT_HEARTBEAT, DEFAULT_MAX_DELIVERIES, DEFAULT_QUEUED_EXPIRY,
};

/// Why a node could not serve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("aplex remote node: {0}")]
pub struct NodeError(String);

/// Builds and runs a worker node of one pool.
///
/// # Examples
///
/// ```no_run
/// # extern crate aplex_facade as aplex;
/// // A program whose only job is to serve the pool `crawl` (its works are the
/// // `#[aplex::work]` functions linked into it).
/// aplex::remote::NodeBuilder::new("nats://10.0.0.5:4222", "crawl")
///     .max_works_per_worker(64)
///     .serve()?;
/// # Ok::<(), aplex::remote::NodeError>(())
/// ```
#[must_use = "a node does nothing until served"]
#[derive(Debug, Clone)]
pub struct NodeBuilder {
    connect: ConnectSettings,
    pool: String,
    group: String,
    max_works: usize,
    max_blocking: usize,
    heartbeat: Duration,
    queue: QueueSettings,
    grace: Duration,
    /// The registry index of its worker-state maker, or why there is none.
    state: Option<Result<u32, String>>,
}

impl NodeBuilder {
    /// A node of pool `pool` on the server at `url`.
    pub fn new(url: impl Into<String>, pool: impl Into<String>) -> Self {
        NodeBuilder {
            connect: ConnectSettings::new(url),
            pool: pool.into(),
            group: DEFAULT_GROUP.to_owned(),
            max_works: aplex_core::DEFAULT_MAX_WORKS_PER_WORKER,
            max_blocking: aplex_core::DEFAULT_MAX_BLOCKING_WORKS_PER_WORKER,
            heartbeat: DEFAULT_HEARTBEAT,
            queue: QueueSettings {
                ack_wait: DEFAULT_ACK_WAIT,
                max_deliveries: DEFAULT_MAX_DELIVERIES,
                max_age: DEFAULT_QUEUED_EXPIRY,
            },
            grace: aplex_core::DEFAULT_SHUTDOWN_GRACE,
            state: None,
        }
    }

    connect_settings!();

    /// The most works this node runs at once (default 300).
    pub fn max_works_per_worker(mut self, works: usize) -> Self {
        self.max_works = works;
        self
    }

    /// The most blocking works this node runs at once (default 1).
    pub fn max_blocking_works_per_worker(mut self, works: usize) -> Self {
        self.max_blocking = works;
        self
    }

    /// The group of nodes this one belongs to: it takes only works whose
    /// `load_balancing_meta` names it (default `any`: works with no meta).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// How often a running work tells the server it is alive (default 5 s; keep it well
    /// under the pool's `ack_wait`).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// The pool's `ack_wait`, `max_deliveries` and queued-work expiry, used if this node
    /// is the first to create the pool's queue (keep them equal to the pool's). A queue
    /// already on the server keeps its own; if its `ack_wait` is not above the node's
    /// heartbeat, the node beats at a third of it (with a warning).
    pub fn queue(mut self, ack_wait: Duration, max_deliveries: u32, expiry: Duration) -> Self {
        self.queue = QueueSettings {
            ack_wait,
            max_deliveries,
            max_age: expiry,
        };
        self
    }

    /// How long a stopping node lets its works finish before handing them back.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Gives the node a state its works reach with [`aplex_core::worker_state`]: made
    /// once as the node starts, by `make(0)` on the node's runtime (a node is one
    /// worker), with a function marked `#[aplex::worker_state]` — the same one the
    /// thread and process pools take. A maker that fails (or panics) stops the node from
    /// starting, with its message; one not marked is refused at start. The zero-line
    /// node takes its path in `APLEX_REMOTE_WORKER_STATE` (`my_crate::open_cache`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # extern crate aplex_facade as aplex;
    /// struct Db(String);
    ///
    /// #[aplex::worker_state]
    /// fn open_db(_worker: usize) -> Result<Db, String> {
    ///     Ok(Db("connected".into()))
    /// }
    ///
    /// #[aplex::work]
    /// async fn query(_: ()) -> String {
    ///     aplex::worker_state::<Db>().map(|db| db.0.clone()).unwrap_or_default()
    /// }
    ///
    /// aplex::remote::NodeBuilder::new("nats://10.0.0.5:4222", "crawl")
    ///     .worker_state(open_db)
    ///     .serve()?;
    /// # Ok::<(), aplex::remote::NodeError>(())
    /// ```
    pub fn worker_state<F, S>(mut self, make: F) -> Self
    where
        F: FnOnce(usize) -> Result<S, String> + 'static,
        S: Send + Sync + 'static,
    {
        drop(make);
        self.state = Some(aplex_core::registry::lookup_state(
            std::any::type_name::<F>(),
        ));
        self
    }

    /// The worker-state maker registered under `name` (its path), for the zero-line node.
    pub(crate) fn worker_state_named(mut self, name: &str) -> Self {
        self.state = Some(aplex_core::registry::lookup_state(name));
        self
    }

    /// Serves until SIGTERM or SIGINT; returns once its works are finished or handed
    /// back. An error if the settings are invalid or the server cannot be reached.
    pub fn serve(self) -> Result<(), NodeError> {
        let stop = Arc::new(Notify::new());
        let watcher = Arc::clone(&stop);
        self.run(stop, Some(watcher))
    }

    /// Serves on a thread of its own until [`NodeHandle::stop`]: a node inside another
    /// program (or a test).
    pub fn start(self) -> Result<NodeHandle, NodeError> {
        self.check()?;
        let stop = Arc::new(Notify::new());
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("aplex-remote-node".into())
            .spawn(move || self.run(stopping, None))
            .map_err(|error| NodeError(format!("cannot start its thread: {error}")))?;
        Ok(NodeHandle {
            stop,
            thread: Some(thread),
        })
    }

    fn check(&self) -> Result<(), NodeError> {
        let refuse = |error: aplex_core::BuildError| NodeError(error.to_string());
        PoolNames::new(&self.pool).map_err(refuse)?;
        check_token("group", &self.group).map_err(refuse)?;
        if self.max_works == 0 || self.max_blocking == 0 {
            return Err(NodeError(
                "max_works_per_worker and max_blocking_works_per_worker must be at least 1".into(),
            ));
        }
        if let Some(Err(reason)) = &self.state {
            return Err(NodeError(format!("worker_state: {reason}")));
        }
        if self.heartbeat.is_zero() || self.heartbeat >= self.queue.ack_wait {
            return Err(NodeError(format!(
                "the heartbeat ({:?}) must be above zero and under ack_wait ({:?})",
                self.heartbeat, self.queue.ack_wait
            )));
        }
        Ok(())
    }

    fn run(self, stop: Arc<Notify>, signals: Option<Arc<Notify>>) -> Result<(), NodeError> {
        self.check()?;
        bootstrap::ensure_linked();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| NodeError(format!("cannot build its runtime: {error}")))?;
        let local = LocalSet::new();
        let abandoned = runtime.block_on(local.run_until(self.serve_node(stop, signals)))?;
        drop(local);
        if abandoned {
            // Blocking works still run on their threads: leave them, do not wait.
            runtime.shutdown_background();
        }
        Ok(())
    }

    async fn serve_node(
        self,
        stop: Arc<Notify>,
        signals: Option<Arc<Notify>>,
    ) -> Result<bool, NodeError> {
        let names = PoolNames::new(&self.pool).map_err(|error| NodeError(error.to_string()))?;
        let client = self
            .connect
            .connect(&format!("aplex-node-{}", std::process::id()))
            .await
            .map_err(NodeError)?;
        let broker: Arc<dyn Broker> = Arc::new(JetStreamBroker::new(
            client.clone(),
            names,
            self.queue.clone(),
        ));
        let digest = registry().digest();
        let held = broker
            .prepare(digest, &self.group)
            .await
            .map_err(|error| NodeError(format!("cannot prepare the pool's queue: {error}")))?;
        let heartbeat = fitted_heartbeat(self.heartbeat, held.ack_wait);
        let state = self.make_state()?;
        if let Some(signals) = signals {
            tokio::task::spawn_local(pull::watch_signals(signals));
        }
        let (loop_tx, loop_rx) = tokio::sync::mpsc::unbounded_channel();
        let stopping = Arc::new(AtomicBool::new(false));
        let puller = pull::Puller::new(
            Arc::clone(&broker),
            digest,
            self.group.clone(),
            self.max_works,
            heartbeat,
            Arc::clone(&stopping),
            loop_tx.clone(),
        );
        let finished = puller.finished_callback();
        let host = announce::host_name();
        let me = announce::NodeInfo {
            id: announce::NodeInfo::new_id(&host),
            host,
            pid: std::process::id(),
            group: self.group.clone(),
            digest,
            max_works: self.max_works,
            in_flight: 0,
        };
        let every = heartbeat.min(announce::ANNOUNCE_EVERY);
        let (stop_announcing, announcing_stops) = tokio::sync::oneshot::channel();
        let announcing = tokio::task::spawn_local(pull::announce(
            Arc::clone(&broker),
            me.clone(),
            puller.clone(),
            every,
            announcing_stops,
        ));
        tokio::task::spawn_local(puller.clone().cancels());
        let holder = puller.clone();
        let pulling = tokio::task::spawn_local(puller.run());
        let grace = self.grace;
        tokio::task::spawn_local(async move {
            stop.notified().await;
            stopping.store(true, Ordering::SeqCst);
            holder.release_waiting();
            tracing::info!("aplex remote node stopping: finishing its works");
            let _ = loop_tx.send(LocalMessage::Close(CloseMode::Drain));
            tokio::time::sleep(grace).await;
            // Past the grace: abort what is left (handed back, as the node is stopping).
            let _ = loop_tx.send(LocalMessage::Abandon);
        });
        tracing::info!(pool = %self.pool, group = %self.group, "aplex remote node serving");
        let abandoned = serve_local(
            loop_rx,
            self.max_blocking,
            // Works come through the broker, far slower than a parked thread wakes.
            std::time::Duration::ZERO,
            state,
            // The node's slots live on this thread.
            OnFinished::on_loop(finished),
        )
        .await;
        pulling.abort();
        let _ = stop_announcing.send(());
        let _ = announcing.await;
        let _ = broker.withdraw(&me.id).await;
        // Let the answers of the last works leave before the connection closes.
        let _ = client.flush().await;
        tracing::info!(abandoned, "aplex remote node stopped");
        Ok(abandoned)
    }
}

impl NodeBuilder {
    /// Makes the node's worker state, if it has one (on the node's runtime).
    fn make_state(&self) -> Result<Option<WorkerStateValue>, NodeError> {
        let Some(Ok(index)) = self.state else {
            return Ok(None);
        };
        match registry().get(index) {
            Some((_, Trampoline::State(make))) => make(0)
                .map(Some)
                .map_err(|message| NodeError(format!("its worker state failed: {message}"))),
            _ => Err(NodeError(format!(
                "registry entry {index} makes no worker state"
            ))),
        }
    }
}

/// A node started with [`NodeBuilder::start`].
#[derive(Debug)]
pub struct NodeHandle {
    stop: Arc<Notify>,
    thread: Option<JoinHandle<Result<(), NodeError>>>,
}

impl NodeHandle {
    /// Stops the node as SIGTERM would, and waits for it.
    pub fn stop(mut self) -> Result<(), NodeError> {
        self.stop.notify_one();
        self.join()
    }

    fn join(&mut self) -> Result<(), NodeError> {
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(NodeError("its thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        self.stop.notify_one();
        let _ = self.join();
    }
}

/// The heartbeat a node keeps: its own, unless that is not under the `ack_wait` the
/// server holds (set by whichever pool or node made the queue first, which may differ
/// from this node's): then a third of it, or the server would redeliver running works as
/// if their node were gone, and they would run again.
fn fitted_heartbeat(heartbeat: Duration, ack_wait: Duration) -> Duration {
    if heartbeat < ack_wait {
        return heartbeat;
    }
    let fitted = (ack_wait / 3).max(Duration::from_millis(1));
    tracing::warn!(
        ?heartbeat,
        ?ack_wait,
        ?fitted,
        "aplex remote node: the pool's queue on the server has an ack_wait no longer than \
         this node's heartbeat; beating faster"
    );
    fitted
}

/// Serves pool `pool` on the server at `url` with default settings until SIGTERM or
/// SIGINT; see [`NodeBuilder`] for the settings.
pub fn serve(url: &str, pool: &str) -> Result<(), NodeError> {
    NodeBuilder::new(url, pool).serve()
}
