//! The remote pool: `RemoteAsyncPoolExecutor` owns a [`Pool`] whose one worker is a
//! client of the server (`worker.rs`, its state in `client.rs`), and dereferences to it for the whole pool API;
//! `accepts.rs` says which works it takes (registered ones, as the process pool),
//! `job.rs` what a queued work carries, `batch_size.rs` how many go in one message,
//! `builder.rs` its settings, `queue_check.rs` those against the server's.

pub(crate) mod accepts;
pub(crate) mod batch_size;
pub(crate) mod builder;
pub(crate) mod client;
pub(crate) mod job;
pub(crate) mod queue_check;
pub(crate) mod worker;

use std::fmt;
use std::ops::Deref;

use aplex_core::backend::executor_of;
use aplex_core::{BuildError, Pool};

use crate::node::announce::NodeInfo;

use crate::pool::builder::RemotePoolBuilder;
use crate::pool::worker::RemoteWorker;

/// A pool of worker nodes on any number of machines, reached through a NATS JetStream
/// server: the same registered works, `submit`, `map`, `.await`, cancel, timeouts and
/// shutdown as the other pools, with works queued on the server until a node with a free
/// slot takes them.
///
/// # Examples
///
/// ```no_run
/// # extern crate aplex_facade as aplex;
/// #[aplex::work]
/// async fn double(x: u64) -> u64 { x * 2 }
///
/// // Nodes serve the pool `demo` elsewhere: `APLEX_REMOTE_URL=nats://10.0.0.5:4222
/// // APLEX_REMOTE_POOL=demo ./this-program` (the same binary).
/// let pool = aplex::remote::RemoteAsyncPoolExecutor::builder("nats://10.0.0.5:4222")
///     .pool("demo")
///     .build()?;
/// assert_eq!(pool.submit(double, 21).result()?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RemoteAsyncPoolExecutor {
    pool: Pool<RemoteWorker>,
}

impl RemoteAsyncPoolExecutor {
    /// A builder for a pool on the server at `url` (`nats://host:port` or `tls://..`).
    pub fn builder(url: impl Into<String>) -> RemotePoolBuilder {
        RemotePoolBuilder::new(url)
    }

    /// A pool with default settings on the server at `url`.
    pub fn new(url: impl Into<String>) -> Result<Self, BuildError> {
        Self::builder(url).build()
    }

    pub(crate) fn from_pool(pool: Pool<RemoteWorker>) -> Self {
        RemoteAsyncPoolExecutor { pool }
    }

    /// The nodes serving this pool now, as they announced themselves (a node that died
    /// drops out within [`ANNOUNCEMENT_TTL`](crate::ANNOUNCEMENT_TTL)). A blocking call:
    /// [`Error::BlockingInRuntime`](aplex_core::Error) on a runtime thread.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>, aplex_core::Error> {
        executor_of(&self.pool).workers()[0].nodes(std::time::Duration::from_secs(10))
    }
}

impl Deref for RemoteAsyncPoolExecutor {
    type Target = Pool<RemoteWorker>;

    fn deref(&self) -> &Pool<RemoteWorker> {
        &self.pool
    }
}

impl fmt::Debug for RemoteAsyncPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RemoteAsyncPoolExecutor")
            .field(&self.pool)
            .finish()
    }
}
