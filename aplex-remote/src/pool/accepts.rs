//! What the remote pool accepts: works registered with `#[aplex::work]` (found by name
//! in the registry, their kind checked), whose argument is `Serialize` and output
//! `Deserialize`, as on the process pool. Arguments are encoded before the pool's lock is
//! taken, so a value that cannot be encoded fails its own future.

use std::sync::Arc;

use aplex_core::backend::{Accepts, Chunk, ChunkResults, Executor, WorkPromise};
use aplex_core::registry::framed::encode_each;
use aplex_core::registry::lookup;
use aplex_core::{Error, Work, WorkKind, WorkOptions};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::names::{check_token, DEFAULT_GROUP};
use crate::pool::job::{self, RemoteJob};
use crate::pool::worker::RemoteWorker;

/// A registered work's name.
#[derive(Debug, Clone, Copy)]
pub struct RemoteTarget {
    name: &'static str,
}

/// An encoded argument and the group of nodes it goes to.
#[derive(Debug)]
pub struct RemotePacked {
    args: Bytes,
    group: String,
}

/// A map chunk's encoded items: how many were sent, and those that could not be encoded.
#[derive(Debug)]
pub struct RemotePackedChunk {
    packed: RemotePacked,
    sent: usize,
    failed: Vec<(usize, Error)>,
}

/// The group of nodes `options` route to: the balancer meta, or every node. A name no
/// node could be started with (`APLEX_REMOTE_GROUP` takes 1 to 64 letters, digits, `-`
/// or `_`) is refused: its works would wait, unseen, until they expired.
fn group_of(options: &WorkOptions) -> Result<String, Error> {
    let group = options
        .meta_value()
        .and_then(|meta| {
            meta.downcast_ref::<&'static str>()
                .map(|group| (*group).to_owned())
                .or_else(|| meta.downcast_ref::<String>().cloned())
        })
        .unwrap_or_else(|| DEFAULT_GROUP.to_owned());
    if check_token("meta", &group).is_err() {
        return Err(Error::InvalidConfig {
            setting: "meta",
            message: format!(
                "a remote pool routes a work to the group of nodes its meta names, and \
                 `{group}` cannot name one: use 1 to 64 ASCII letters, digits, `-` or `_`, \
                 as a node's APLEX_REMOTE_GROUP"
            ),
        });
    }
    Ok(group)
}

impl<W, A> Accepts<W, A> for RemoteWorker
where
    W: Work<A>,
    A: Serialize,
    W::Out: DeserializeOwned + Send + 'static,
{
    type Target = RemoteTarget;
    type Packed = RemotePacked;
    type PackedChunk = RemotePackedChunk;

    fn target() -> Result<RemoteTarget, Error> {
        let (_, name) = lookup(W::name(), W::KIND)?;
        Ok(RemoteTarget { name })
    }

    fn pack(
        _executor: &Executor<Self>,
        target: &RemoteTarget,
        args: &A,
        options: &WorkOptions,
    ) -> Result<RemotePacked, Error> {
        let (bytes, mut failed) = encode_each(std::slice::from_ref(args), target.name, "arguments");
        match failed.pop() {
            Some((_, error)) => Err(error),
            None => Ok(RemotePacked {
                args: Bytes::from(bytes.into_vec()),
                group: group_of(options)?,
            }),
        }
    }

    fn job(
        target: &RemoteTarget,
        _work: W,
        _args: A,
        packed: RemotePacked,
        promise: WorkPromise<W::Out>,
    ) -> RemoteJob {
        RemoteJob {
            work: target.name,
            kind: W::KIND,
            args: packed.args,
            group: packed.group,
            begin: (W::KIND == WorkKind::Blocking).then(|| promise.begin_handle()),
            complete: job::single(target.name, promise),
        }
    }

    fn pack_chunk(
        _executor: &Executor<Self>,
        target: &RemoteTarget,
        chunk: &Chunk<A>,
        options: &WorkOptions,
    ) -> Result<RemotePackedChunk, ChunkResults<W::Out>> {
        let group = match group_of(options) {
            Ok(group) => group,
            Err(error) => {
                return Err(chunk
                    .as_slice()
                    .iter()
                    .map(|_| Err(error.clone()))
                    .collect())
            }
        };
        let (bytes, failed) = encode_each(chunk.as_slice(), target.name, "arguments");
        if failed.len() == chunk.len() {
            return Err(failed.into_iter().map(|(_, error)| Err(error)).collect());
        }
        Ok(RemotePackedChunk {
            sent: chunk.len() - failed.len(),
            failed,
            packed: RemotePacked {
                args: Bytes::from(bytes.into_vec()),
                group,
            },
        })
    }

    fn chunk_job(
        target: &RemoteTarget,
        _work: &Arc<W>,
        _chunk: Chunk<A>,
        packed: RemotePackedChunk,
        promise: WorkPromise<ChunkResults<W::Out>>,
    ) -> RemoteJob
    where
        W: Fn(A) -> W::Body + Send + Sync + 'static,
    {
        let RemotePackedChunk {
            packed,
            sent,
            failed,
        } = packed;
        RemoteJob {
            work: target.name,
            kind: W::KIND,
            args: packed.args,
            group: packed.group,
            begin: (W::KIND == WorkKind::Blocking).then(|| promise.begin_handle()),
            complete: job::chunk(target.name, sent, failed, promise),
        }
    }
}
