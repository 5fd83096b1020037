//! What the thread pool accepts: any work whose closure, argument and output can be
//! sent to a worker thread, and whose body has a [`Placement`]: a `Send` future, a
//! [`local`](aplex_core::local) one, or a blocking call. Nothing needs readying before
//! admission: the job owns the work and its argument.

use std::sync::Arc;

use aplex_core::backend::{Accepts, Chunk, ChunkResults, Executor, Placement, WorkPromise};
use aplex_core::{Error, Work, WorkOptions};

use crate::worker::{ThreadJob, ThreadWorker};

impl<W, A> Accepts<W, A> for ThreadWorker
where
    W: Work<A> + Send + 'static,
    W::Body: Placement,
    A: Send + 'static,
    W::Out: Send + 'static,
{
    type Target = ();
    type Packed = ();
    type PackedChunk = ();

    fn target() -> Result<(), Error> {
        Ok(())
    }

    fn pack(
        _executor: &Executor<Self>,
        _target: &(),
        _args: &A,
        _options: &WorkOptions,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn job(_target: &(), work: W, args: A, _packed: (), promise: WorkPromise<W::Out>) -> ThreadJob {
        W::Body::work_job(work, args, promise)
    }

    fn pack_chunk(
        _executor: &Executor<Self>,
        _target: &(),
        _chunk: &Chunk<A>,
        _options: &WorkOptions,
    ) -> Result<(), ChunkResults<W::Out>> {
        Ok(())
    }

    fn chunk_job(
        _target: &(),
        work: &Arc<W>,
        chunk: Chunk<A>,
        _packed: (),
        promise: WorkPromise<ChunkResults<W::Out>>,
    ) -> ThreadJob
    where
        W: Fn(A) -> W::Body + Send + Sync + 'static,
    {
        W::Body::chunk_job(Arc::clone(work), chunk, promise)
    }
}
