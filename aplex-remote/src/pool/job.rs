//! `RemoteJob`: what the remote pool's one worker is handed for a work or a map chunk —
//! the work's name and kind, its encoded arguments, the group of nodes it goes to, and a
//! completer that decodes its result into the typed future.

use std::fmt;

use aplex_core::backend::{Begin, ChunkResults, WorkPromise};
use aplex_core::registry::outcomes::{decode_chunk, decode_one};
use aplex_core::{Error, WorkKind};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

/// Turns a work's result (its encoded outcomes, or why it failed) into its future's.
pub(crate) type Completer = Box<dyn FnOnce(Result<ByteBuf, Error>) + Send>;

/// What the remote worker is handed for one work or map chunk.
pub struct RemoteJob {
    pub(crate) work: &'static str,
    pub(crate) kind: WorkKind,
    pub(crate) args: Bytes,
    pub(crate) group: String,
    pub(crate) complete: Completer,
    /// For a blocking work: committed (no longer cancellable) and begun (its timeout
    /// starts) once queued on the server, as a process pool does once it is sent.
    pub(crate) begin: Option<Begin>,
}

impl fmt::Debug for RemoteJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJob")
            .field("work", &self.work)
            .field("kind", &self.kind)
            .field("args", &self.args.len())
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// The completer of one submitted work.
pub(crate) fn single<T>(name: &'static str, promise: WorkPromise<T>) -> Completer
where
    T: DeserializeOwned + Send + 'static,
{
    Box::new(move |outcome| {
        promise.complete(outcome.and_then(|bytes| decode_one(&bytes, name)));
    })
}

/// The completer of one map chunk of `expected` items sent, with the items that could
/// not be encoded put back in their places.
pub(crate) fn chunk<T>(
    name: &'static str,
    expected: usize,
    failed: Vec<(usize, Error)>,
    promise: WorkPromise<ChunkResults<T>>,
) -> Completer
where
    T: DeserializeOwned + Send + 'static,
{
    Box::new(move |outcome| {
        promise.complete(outcome.and_then(|bytes| decode_chunk(&bytes, name, expected, failed)));
    })
}
