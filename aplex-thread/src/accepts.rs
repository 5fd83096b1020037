//! What the thread pool accepts: any work whose closure, argument and output can be
//! sent to a worker thread (the work's future itself need not be `Send`: it runs as a
//! local task). Nothing needs readying before admission: the job owns the work and its
//! argument.

use std::sync::Arc;

use aplex_core::backend::{Accepts, Chunk, ChunkResults, Executor, WorkPromise};
use aplex_core::{Error, Work, WorkOptions};

use crate::job::{chunk_job, work_job, ThreadJob};
use crate::worker::ThreadWorker;

impl<W, A> Accepts<W, A> for ThreadWorker
where
    W: Work<A> + Send + 'static,
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
        work_job(work, args, promise)
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
        chunk_job(Arc::clone(work), chunk, promise)
    }
}
