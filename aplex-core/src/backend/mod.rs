//! What only a backend needs: the seam a third kind of worker (threads, processes, remote
//! nodes) implements, and the machinery every backend shares.
//!
//! A backend provides
//!
//! 1. a [`Worker`]: one worker's handle, to which the [`Executor`] ships jobs;
//! 2. an [`Accepts`] implementation on that worker type: which works it runs, and how
//!    it turns one (or a map chunk) into a job;
//! 3. a pool type owning a [`Pool`] of its workers ([`new_pool`]) that
//!    dereferences to it, and a builder.
//!
//! Everything users touch — submitting, mapping, futures, errors, balancers — is at the
//! crate root; this module is what a backend adds to it.
//!
//! - [`local`]: the loop that runs jobs on one worker's tokio runtime;
//! - [`join`]: running a chunk of async works together;
//! - [`chunk`] and [`chunk_results`]: a map's chunk of items and their results;
//! - [`id_map`]: a map keyed by ids, hashed fast;
//! - [`ordered_ids`]: a map for ids handed out in increasing order (works in flight).

pub(crate) mod accepts;
#[cfg(feature = "registry")]
mod async_call;
mod blocking_job;
mod blocking_ledger;
mod blocking_runner;
mod builder_settings;
mod catch;
pub mod chunk;
pub mod chunk_results;
mod group;
pub mod id_map;
pub mod join;
mod linger;
pub mod local;
mod on_finished;
pub mod ordered_ids;
mod placement;
mod task;

use crate::sync::AtomicUsize;
use std::time::Duration;

#[doc(inline)]
pub use crate::__pool_settings as pool_settings;
pub use crate::begin::Begin;
pub use crate::deadline::deadline_after;
pub use crate::dispatch::Admission;
pub use crate::error::panic_message;
pub use crate::executor::Executor;
pub use crate::future::WorkPromise;
pub use crate::map::{ChunkFuture, FlushChunks, SubmitChunk};
pub use crate::options::PoolOptions;
pub use crate::serving::{serve_works_of, ServingGuard};
pub use crate::wait::{
    block_until, ensure_blocking_allowed, refuse_blocking_on_this_thread, RefusalGuard,
};
pub use crate::wait_help::{offer_wait_help, WaitHelp};
pub use crate::worker::{CloseMode, WorkId, Worker, WorkerEvents, WorkerSeat};
pub use crate::worker_state::{install_worker_state, StateInstalled, WorkerStateValue};
pub use accepts::Accepts;
pub use chunk::Chunk;
pub use chunk_results::ChunkResults;
pub use linger::WORKER_LINGER;
pub use placement::Placement;

use crate::{Map, Pool, WorkFuture, WorkerInfo, WorkerView};

/// The pool that owns `executor`; dropping it shuts the executor down within `grace`.
///
/// # Examples
///
/// ```
/// let pool = aplex::backend::new_pool(
///     aplex_core::testing::inline_executor(2),
///     std::time::Duration::from_secs(1),
/// );
/// assert_eq!(pool.pool_size(), 2);
/// ```
pub fn new_pool<W: Worker>(executor: Executor<W>, grace: Duration) -> Pool<W> {
    Pool::new(executor, grace)
}

/// The executor a pool owns, for a backend's own inspectors.
///
/// # Examples
///
/// ```
/// let pool = aplex::backend::new_pool(
///     aplex_core::testing::inline_executor(2),
///     std::time::Duration::from_secs(1),
/// );
/// assert_eq!(aplex::backend::executor_of(&pool).workers().len(), 2);
/// ```
pub fn executor_of<W: Worker>(pool: &Pool<W>) -> &Executor<W> {
    pool.executor()
}

/// A connected promise and future; `abortable` says whether the work can be stopped
/// while it runs (async works can, blocking ones cannot).
///
/// # Examples
///
/// ```
/// let (promise, future) = aplex::backend::future_pair(false);
/// promise.complete(Ok(String::from("made by a worker")));
/// assert_eq!(future.result().unwrap(), "made by a worker");
/// ```
pub fn future_pair<T: Send + 'static>(abortable: bool) -> (WorkPromise<T>, WorkFuture<T>) {
    WorkFuture::pair(abortable)
}

/// A map over `input` whose chunks `submit` admits and `flush` sends; `window` is the
/// default bound on chunks in flight. [`Pool::map`](crate::Pool::map) makes one.
///
/// # Examples
///
/// ```
/// use aplex::backend::{future_pair, new_map};
///
/// let squares = new_map(
///     1..4_u64,
///     2,
///     Box::new(|chunk: aplex::backend::Chunk<u64>, _options| {
///         let (promise, future) = future_pair(false);
///         promise.complete(Ok(chunk.into_iter().map(|x| Ok(x * x)).collect()));
///         future
///     }),
///     Box::new(|| {}),
/// );
/// assert_eq!(squares.collect::<Result<Vec<_>, _>>(), Ok(vec![1, 4, 9]));
/// ```
pub fn new_map<'a, A: 'a, T: Send + 'static>(
    input: impl Iterator<Item = A> + Send + 'a,
    window: usize,
    submit: SubmitChunk<'a, A, T>,
    flush: FlushChunks<'a>,
) -> Map<'a, A, T> {
    Map::new(input, window, submit, flush)
}

/// The view a balancer is shown: `infos` and `workloads` indexed by worker, and the cap.
///
/// # Panics
///
/// If `infos` and `workloads` differ in length.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::AtomicUsize;
/// use aplex::backend::new_worker_view;
///
/// let infos = aplex_core::testing::worker_infos(3);
/// let loads: Vec<AtomicUsize> = [2, 0, 1].into_iter().map(AtomicUsize::new).collect();
/// let view = new_worker_view(&infos, &loads, 2);
/// assert_eq!(view.available_workers().collect::<Vec<_>>(), [1, 2]);
/// ```
pub fn new_worker_view<'a>(
    infos: &'a [WorkerInfo],
    workloads: &'a [AtomicUsize],
    max_works_per_worker: usize,
) -> WorkerView<'a> {
    WorkerView::new(infos, workloads, max_works_per_worker)
}
