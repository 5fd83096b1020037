//! What the process pool accepts: works registered with `#[aplex::work]` (found by name
//! in the registry, their kind checked), whose argument is `Serialize` and output
//! `Deserialize`. Arguments are encoded before the pool's lock is taken, so a value
//! that cannot be encoded fails its own future (or is handed back by `try_submit`).

use std::sync::Arc;

use aplex_core::backend::{Accepts, Chunk, ChunkResults, Executor, WorkPromise};
use aplex_core::{Error, Work, WorkKind, WorkOptions};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::parent::job::{chunk_job, encode_chunk, single_job, ProcessJob, Retry};
use crate::parent::worker::ProcessWorker;
use crate::protocol::payload::Payload;
use aplex_core::registry::lookup;

/// A registered work's index in the registry and its name.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    index: u32,
    name: &'static str,
}

/// An encoded argument and what its job needs to be sent again after a crash.
#[derive(Debug)]
pub struct Encoded {
    args: Payload,
    retry: Option<Box<Retry<ProcessWorker>>>,
}

/// A map chunk's encoded items: how many were sent, and those that could not be
/// encoded, to be put back in their places.
#[derive(Debug)]
pub struct EncodedChunk {
    encoded: Encoded,
    sent: usize,
    failed: Vec<(usize, Error)>,
}

impl<W, A> Accepts<W, A> for ProcessWorker
where
    W: Work<A>,
    A: Serialize,
    W::Out: DeserializeOwned + Send + 'static,
{
    type Target = Registered;
    type Packed = Encoded;
    type PackedChunk = EncodedChunk;

    fn target() -> Result<Registered, Error> {
        let (index, name) = lookup(W::name(), W::KIND)?;
        Ok(Registered { index, name })
    }

    fn pack(
        executor: &Executor<Self>,
        target: &Registered,
        args: &A,
        options: &WorkOptions,
    ) -> Result<Encoded, Error> {
        let (args, mut failed) = encode_chunk(std::slice::from_ref(args), target.name);
        match failed.pop() {
            Some((_, error)) => Err(error),
            None => Ok(Encoded {
                retry: Retry::new(executor, options, &args),
                args,
            }),
        }
    }

    fn job(
        target: &Registered,
        _work: W,
        _args: A,
        packed: Encoded,
        promise: WorkPromise<W::Out>,
    ) -> ProcessJob {
        let Registered { index, name } = *target;
        let blocking = W::KIND == WorkKind::Blocking;
        single_job(index, name, packed.args, promise, packed.retry, blocking)
    }

    fn pack_chunk(
        executor: &Executor<Self>,
        target: &Registered,
        chunk: &Chunk<A>,
        options: &WorkOptions,
    ) -> Result<EncodedChunk, ChunkResults<W::Out>> {
        let (args, failed) = encode_chunk(chunk.as_slice(), target.name);
        if failed.len() == chunk.len() {
            // Nothing to send: each item fails with its own error.
            return Err(failed.into_iter().map(|(_, error)| Err(error)).collect());
        }
        Ok(EncodedChunk {
            sent: chunk.len() - failed.len(),
            failed,
            encoded: Encoded {
                retry: Retry::new(executor, options, &args),
                args,
            },
        })
    }

    fn chunk_job(
        target: &Registered,
        _work: &Arc<W>,
        _chunk: Chunk<A>,
        packed: EncodedChunk,
        promise: WorkPromise<ChunkResults<W::Out>>,
    ) -> ProcessJob
    where
        W: Fn(A) -> W::Body + Send + Sync + 'static,
    {
        let Registered { index, name } = *target;
        let blocking = W::KIND == WorkKind::Blocking;
        let EncodedChunk {
            encoded,
            sent,
            failed,
        } = packed;
        chunk_job(
            index,
            name,
            encoded.args,
            sent,
            promise,
            encoded.retry,
            blocking,
            failed,
        )
    }
}
