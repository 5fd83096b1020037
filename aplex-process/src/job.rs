//! Turning a typed submission into a `ProcessJob`: the work's registry index, its chunk
//! of arguments encoded as one buffer, and a completer that decodes the reply into the
//! typed future.

use aplex_core::{ChunkResults, Error, WorkPromise};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::slot::{Completer, ProcessJob};
use crate::wire::{decode, encode, WireError};

/// Encodes a chunk of arguments (one item for a submit) as one buffer.
pub(crate) fn encode_chunk<A: Serialize>(
    items: &[A],
    name: &str,
) -> Result<serde_bytes::ByteBuf, Error> {
    encode(&items, name, "arguments")
}

/// A job for one submitted work, whose arguments `encode_chunk` made from one item.
pub(crate) fn single_job<T>(
    work: u32,
    name: &'static str,
    args: serde_bytes::ByteBuf,
    promise: WorkPromise<T>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|bytes| {
            let mut outcomes = decode_outcomes::<T>(&bytes, name)?.into_iter();
            match (outcomes.next(), outcomes.next()) {
                (Some(outcome), None) => outcome,
                _ => Err(protocol_error(name)),
            }
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
    args: serde_bytes::ByteBuf,
    expected: usize,
    promise: WorkPromise<ChunkResults<T>>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|bytes| {
            let outcomes = decode_outcomes::<T>(&bytes, name)?;
            if outcomes.len() == expected {
                Ok(outcomes)
            } else {
                Err(protocol_error(name))
            }
        });
        promise.complete(result);
    });
    ProcessJob {
        work,
        args,
        complete,
    }
}

fn decode_outcomes<T: DeserializeOwned>(
    bytes: &[u8],
    name: &str,
) -> Result<ChunkResults<T>, Error> {
    let mut outcomes: Vec<Result<T, WireError>> = decode(bytes, name, "output")?;
    if outcomes.len() == 1 {
        // Inline: the decoded `Vec` is freed here, not on the thread reading the map.
        let only = outcomes.pop().expect("one outcome");
        return Ok(ChunkResults::one(only.map_err(Error::from)));
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.map_err(Error::from))
        .collect())
}

fn protocol_error(name: &str) -> Error {
    Error::Serialization {
        work: name.to_owned(),
        what: "output",
        direction: "decode",
        message: "the worker replied with the wrong number of results".into(),
    }
}
