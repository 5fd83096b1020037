//! Turning a typed submission into a `ProcessJob`: the work's registry index, its chunk
//! of arguments encoded as one buffer, and a completer that decodes the reply into the
//! typed future.

use aplex_core::{ChunkResults, Error, WorkPromise};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::outcomes::Outcomes;
use crate::payload::Payload;
use crate::slot::{Completer, ProcessJob};
use crate::wire::encode;

/// Encodes a chunk of arguments (one item for a submit) as one buffer.
pub(crate) fn encode_chunk<A: Serialize>(items: &[A], name: &str) -> Result<Payload, Error> {
    encode(&items, name, "arguments").map(Payload::new)
}

/// A job for one submitted work, whose arguments `encode_chunk` made from one item.
pub(crate) fn single_job<T>(
    work: u32,
    name: &'static str,
    args: Payload,
    promise: WorkPromise<T>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|bytes| {
            decoding(name, || {
                let outcomes = Outcomes::<T>::decode(&bytes, name)?;
                if outcomes.len() != 1 {
                    return Err(protocol_error(name));
                }
                outcomes
                    .into_first()
                    .ok_or_else(|| protocol_error(name))?
                    .map_err(Error::from)
            })
        });
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
    }
}

/// A job for one chunk of a map of `expected` items: one result per item.
pub(crate) fn chunk_job<T>(
    work: u32,
    name: &'static str,
    args: Payload,
    expected: usize,
    promise: WorkPromise<ChunkResults<T>>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|bytes| {
            decoding(name, || {
                let outcomes = Outcomes::<T>::decode(&bytes, name)?;
                if outcomes.len() == expected {
                    Ok(outcomes.into_chunk_results())
                } else {
                    Err(protocol_error(name))
                }
            })
        });
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
    }
}

/// Runs `decode` (user code: the output type's `Deserialize`) on the slot's supervisor
/// thread; a panic in it fails this work with `Panicked` and leaves the thread serving.
fn decoding<R>(name: &str, decode: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        Err(Error::Panicked {
            message: format!(
                "decoding the output of `{name}` panicked: {}",
                aplex_core::panic_message(&*panic)
            ),
        })
    })
}

fn protocol_error(name: &str) -> Error {
    Error::Serialization {
        work: name.to_owned(),
        what: "output",
        direction: "decode",
        message: "the worker replied with the wrong number of results".into(),
    }
}
