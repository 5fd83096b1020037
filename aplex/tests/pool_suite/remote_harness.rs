//! The remote pool as the suite's third backend: `builder()` gives a builder that, on
//! `build()`, starts a real `nats-server` of its own and `pool_size` nodes (in this
//! process, each with `max_works_per_worker` slots), then a remote pool whose works in
//! flight are capped at the nodes' slots, so queueing behaves as on a local pool.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aplex::remote::{NatsServer, NodeBuilder, NodeHandle, RemoteAsyncPoolExecutor};
use aplex::BuildError;

/// The suite's remote builder; see the module docs.
#[derive(Default)]
pub(crate) struct RemoteSuiteBuilder {
    pool_size: Option<usize>,
    max_works: Option<usize>,
    max_pending: Option<usize>,
    work_timeout: Option<Duration>,
    shutdown_grace: Option<Duration>,
}

impl RemoteSuiteBuilder {
    pub(crate) fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    pub(crate) fn max_works_per_worker(mut self, works: usize) -> Self {
        self.max_works = Some(works);
        self
    }

    pub(crate) fn max_pending(mut self, works: usize) -> Self {
        self.max_pending = Some(works);
        self
    }

    pub(crate) fn work_timeout(mut self, timeout: Duration) -> Self {
        self.work_timeout = Some(timeout);
        self
    }

    pub(crate) fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = Some(grace);
        self
    }

    pub(crate) fn build(self) -> Result<RemoteSuitePool, BuildError> {
        static POOLS: AtomicUsize = AtomicUsize::new(0);
        let nodes = self.pool_size.unwrap_or(2);
        let slots = self
            .max_works
            .unwrap_or(aplex::DEFAULT_MAX_WORKS_PER_WORKER);
        let server = NatsServer::start().expect("a nats-server (cargo xtask test provides one)");
        let name = format!("suite-{}", POOLS.fetch_add(1, Ordering::Relaxed));
        let mut builder = RemoteAsyncPoolExecutor::builder(server.url())
            .pool(name.as_str())
            .ack_wait(Duration::from_secs(2))
            .max_in_flight((nodes * slots).max(1));
        if let Some(max) = self.max_pending {
            builder = builder.max_pending(max);
        }
        if let Some(timeout) = self.work_timeout {
            builder = builder.work_timeout(timeout);
        }
        if let Some(grace) = self.shutdown_grace {
            builder = builder.shutdown_grace(grace);
        }
        let pool = builder.build()?;
        let nodes = (0..nodes)
            .map(|_| {
                NodeBuilder::new(server.url(), name.as_str())
                    .max_works_per_worker(slots)
                    .max_blocking_works_per_worker(1)
                    .heartbeat(Duration::from_millis(500))
                    .queue(Duration::from_secs(2), 3, Duration::from_secs(3600))
                    .shutdown_grace(Duration::from_secs(1))
                    .start()
                    .expect("a node starts")
            })
            .collect();
        Ok(RemoteSuitePool {
            pool: Some(pool),
            nodes,
            _server: server,
        })
    }
}

/// A remote pool with its server and nodes, dropped in that order.
pub(crate) struct RemoteSuitePool {
    pool: Option<RemoteAsyncPoolExecutor>,
    nodes: Vec<NodeHandle>,
    _server: NatsServer,
}

impl Deref for RemoteSuitePool {
    type Target = RemoteAsyncPoolExecutor;

    fn deref(&self) -> &RemoteAsyncPoolExecutor {
        self.pool.as_ref().expect("the pool lives until dropped")
    }
}

impl Drop for RemoteSuitePool {
    fn drop(&mut self) {
        drop(self.pool.take());
        // The nodes and the server stop on a thread of their own: the suite measures the
        // pool's own drop (which must not wait for its nodes), not the harness's.
        let nodes = std::mem::take(&mut self.nodes);
        std::thread::spawn(move || drop(nodes));
    }
}
