//! `Accepts`: what a backend adds to the shared [`Pool`](crate::Pool) — which works its
//! workers accept, and how it turns one into the job a worker runs.
//!
//! The pool does everything else: it admits the job (under the executor's lock, so the
//! job is built only once admitted), makes and returns the future, hands a refused work
//! back, and sets up maps. A backend answers four questions:
//!
//! 1. [`target`](Accepts::target): what it works out once per work type (the process
//!    pool: the work's registry entry; the thread pool: nothing);
//! 2. [`pack`](Accepts::pack): an argument made ready to travel, before the pool's lock
//!    is taken (the process pool: encoded; the thread pool: nothing);
//! 3. [`job`](Accepts::job): the job for one submitted work, built under the lock;
//! 4. [`pack_chunk`](Accepts::pack_chunk) and [`chunk_job`](Accepts::chunk_job): the
//!    same for one chunk of a map.

use std::sync::Arc;

use crate::backend::chunk::Chunk;
use crate::backend::chunk_results::ChunkResults;
use crate::executor::Executor;
use crate::future::WorkPromise;
use crate::work::Work;
use crate::worker::Worker;
use crate::{Error, WorkOptions};

/// A backend's worker type that runs works of type `W` on arguments of type `A`; the
/// bounds of its implementation are what that pool accepts.
///
/// # Examples
///
/// A function that takes any pool whose workers accept a work:
///
/// ```
/// use aplex::backend::Accepts;
/// use aplex::{Pool, Work};
///
/// fn lengths<B, W>(pool: &Pool<B>, work: W, words: Vec<String>) -> Vec<usize>
/// where
///     B: Accepts<W, String>,
///     W: Work<String, Out = usize> + Fn(String) -> W::Body + Send + Sync + 'static,
/// {
///     pool.map(work, words).map(Result::unwrap).collect()
/// }
///
/// #[aplex::work]
/// async fn len_of(word: String) -> usize { word.len() }
///
/// let pool = aplex::ProcessAsyncPoolExecutor::builder().pool_size(1).build()?;
/// assert_eq!(lengths(&pool, len_of, vec!["ab".into(), "c".into()]), [2, 1]);
/// # Ok::<(), aplex::BuildError>(())
/// ```
pub trait Accepts<W: Work<A>, A>: Worker + Sized {
    /// What the backend works out once for a work of type `W`.
    type Target: Send + Sync + 'static;

    /// One argument made ready to travel, with what else its job needs.
    type Packed;

    /// A chunk of a map's arguments made ready to travel.
    type PackedChunk;

    /// Works out the target of a work of type `W`.
    ///
    /// # Errors
    ///
    /// Why this pool cannot run `W` (the process pool: [`Error::UnknownWork`], or
    /// [`Error::WrongKind`]); every future of `W` resolves to it.
    fn target() -> Result<Self::Target, Error>;

    /// Makes `args` ready to travel; runs before the pool's lock is taken.
    ///
    /// # Errors
    ///
    /// Why `args` cannot travel (the process pool: [`Error::Serialization`]).
    fn pack(
        executor: &Executor<Self>,
        target: &Self::Target,
        args: &A,
        options: &WorkOptions,
    ) -> Result<Self::Packed, Error>;

    /// The job that runs `work(args)` and completes `promise`; built under the pool's
    /// lock, once the work is admitted.
    fn job(
        target: &Self::Target,
        work: W,
        args: A,
        packed: Self::Packed,
        promise: WorkPromise<W::Out>,
    ) -> Self::Job;

    /// Makes a chunk of a map's arguments ready to travel.
    ///
    /// # Errors
    ///
    /// The chunk's results, when none of its items can travel (each fails with its own
    /// error) and there is nothing to send.
    fn pack_chunk(
        executor: &Executor<Self>,
        target: &Self::Target,
        chunk: &Chunk<A>,
        options: &WorkOptions,
    ) -> Result<Self::PackedChunk, ChunkResults<W::Out>>;

    /// The job that runs `work` on every item of `chunk` and completes `promise` with
    /// their results in order.
    fn chunk_job(
        target: &Self::Target,
        work: &Arc<W>,
        chunk: Chunk<A>,
        packed: Self::PackedChunk,
        promise: WorkPromise<ChunkResults<W::Out>>,
    ) -> Self::Job
    where
        W: Fn(A) -> W::Body + Send + Sync + 'static;
}
