//! `RemoteJob`: what the remote pool's one worker is handed for a work or a map chunk —
//! the work's name and kind, its encoded arguments, the group of nodes it goes to, and a
//! completer that decodes its result into the typed future.

use std::fmt;

use aplex_core::backend::{Begin, ChunkResults, WorkPromise};
use aplex_core::registry::framed::merge_failures;
use aplex_core::registry::outcomes::Outcomes;
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
        let result = outcome.and_then(|bytes| {
            decoding(name, || {
                let outcomes = Outcomes::<T>::decode(&bytes, name)?;
                if outcomes.len() != 1 {
                    return Err(wrong_count(name));
                }
                outcomes.into_first().ok_or_else(|| wrong_count(name))?
            })
        });
        promise.complete(result);
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
        let result = outcome.and_then(|bytes| {
            decoding(name, || {
                let outcomes = Outcomes::<T>::decode(&bytes, name)?;
                if outcomes.len() == expected {
                    Ok(merge_failures(outcomes.into_chunk_results(), failed))
                } else {
                    Err(wrong_count(name))
                }
            })
        });
        promise.complete(result);
    })
}

/// Runs `decode` (user code: the output type's `Deserialize`); a panic in it fails this
/// work with `Panicked` and leaves the pool's client serving.
fn decoding<R>(name: &str, decode: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        Err(Error::Panicked {
            message: format!(
                "decoding the output of `{name}` panicked: {}",
                aplex_core::backend::panic_message(&*panic)
            ),
        })
    })
}

fn wrong_count(name: &str) -> Error {
    Error::Serialization {
        work: name.to_owned(),
        what: "output",
        direction: "decode",
        message: "the node replied with the wrong number of results".into(),
    }
}
