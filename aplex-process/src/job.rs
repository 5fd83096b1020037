//! Turning a typed submission into a `ProcessJob`: the work's registry index, its encoded
//! arguments, and a completer that decodes the reply into the typed future.

use aplex_core::{Error, WorkPromise};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_bytes::ByteBuf;

use crate::slot::{Completer, ProcessJob};
use crate::wire::{decode, encode, ItemOutcome};

/// Encodes every item's arguments for work `name`.
pub(crate) fn encode_items<A: Serialize>(items: &[A], name: &str) -> Result<Vec<ByteBuf>, Error> {
    items
        .iter()
        .map(|item| encode(item, name, "arguments"))
        .collect()
}

/// A job for one submitted work.
pub(crate) fn single_job<T>(
    work: u32,
    name: &'static str,
    args: ByteBuf,
    promise: WorkPromise<T>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|items| {
            let mut items = items.into_iter();
            match (items.next(), items.next()) {
                (Some(item), None) => decode_item(item, name),
                _ => Err(protocol_error(name)),
            }
        });
        promise.complete(result);
    });
    ProcessJob {
        work,
        items: vec![args],
        complete,
    }
}

/// A job for one chunk of a map: one result per item.
pub(crate) fn chunk_job<T>(
    work: u32,
    name: &'static str,
    items: Vec<ByteBuf>,
    promise: WorkPromise<Vec<Result<T, Error>>>,
) -> ProcessJob
where
    T: DeserializeOwned + Send + 'static,
{
    let expected = items.len();
    let complete: Completer = Box::new(move |outcome| {
        let result = outcome.and_then(|outcomes| {
            if outcomes.len() != expected {
                return Err(protocol_error(name));
            }
            Ok(outcomes
                .into_iter()
                .map(|item| decode_item(item, name))
                .collect())
        });
        promise.complete(result);
    });
    ProcessJob {
        work,
        items,
        complete,
    }
}

fn decode_item<T: DeserializeOwned>(item: ItemOutcome, name: &str) -> Result<T, Error> {
    let bytes = item.map_err(Error::from)?;
    decode(&bytes, name, "output")
}

fn protocol_error(name: &str) -> Error {
    Error::Serialization {
        work: name.to_owned(),
        what: "output",
        direction: "decode",
        message: "the worker replied with the wrong number of results".into(),
    }
}
