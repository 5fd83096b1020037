//! A chunk's outcomes on the wire: one per item, in order, each encoded on its own
//! (`framed.rs`), then one byte saying how: `ALL_OK` (every item is its output) or
//! `MIXED` (every item is a `Result<Output, WireError>`).
//!
//! An output that cannot be encoded becomes that item's serialisation error in the child,
//! and one that cannot be decoded becomes that item's error in the parent: neither fails
//! the rest of its chunk. When every item succeeded (nearly always) the parent keeps just
//! the outputs ([`ChunkResults::all_ok`]): no per-item error slot to fill.

use crate::backend::ChunkResults;
use crate::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::registry::encoded::{installed_store, Encoded};
use crate::registry::framed::{decode_all, decode_each_with, decode_single, encode_each_to};
use crate::registry::wire_error::WireError;

/// A chunk's outcomes as the parent decodes them.
#[derive(Debug)]
pub enum Outcomes<T> {
    /// Every item succeeded with these outputs.
    AllOk(Vec<T>),
    /// One outcome per item.
    Mixed(Vec<Result<T, Error>>),
}

/// The last byte of a chunk's outcomes when every item is its output.
const ALL_OK: u8 = 0;
/// The last byte of a chunk's outcomes when every item is a `Result`.
const MIXED: u8 = 1;

/// Appends the mode byte to encoded outcomes.
fn with_mode(mut encoded: Encoded, mode: u8) -> Encoded {
    encoded.push(mode);
    encoded
}

/// Encodes the outcomes of a chunk run by work `name` — a big one straight into the
/// process's store, if one is installed (`encoded::install_store`).
pub fn encode_outcomes<T: Serialize>(
    outcomes: ChunkResults<T>,
    name: &str,
) -> Result<Encoded, Error> {
    let store = installed_store();
    // A chunk of one output (every lone work) is encoded from where it is, not from a
    // `Vec` of one made for it.
    let outcomes: Vec<Result<T, WireError>> = match outcomes.into_all_ok_chunk() {
        Ok(outputs) => {
            let (bytes, failed) = encode_each_to(outputs.as_slice().iter(), name, "output", store);
            if failed.is_empty() {
                return Ok(with_mode(bytes, ALL_OK));
            }
            outputs.into_iter().map(Ok).collect()
        }
        Err(outcomes) => outcomes
            .into_iter()
            .map(|outcome| outcome.map_err(WireError::from))
            .collect(),
    };
    let (bytes, failed) = encode_each_to(outcomes.iter(), name, "output", store);
    if failed.is_empty() {
        return Ok(with_mode(bytes, MIXED));
    }
    // The outputs that could not be encoded become their items' errors (which always
    // encode).
    let mut outcomes = outcomes;
    for (index, error) in failed {
        outcomes[index] = Err(WireError::from(error));
    }
    Ok(with_mode(
        encode_each_to(outcomes.iter(), name, "output", store).0,
        MIXED,
    ))
}

impl<T: DeserializeOwned> Outcomes<T> {
    /// Decodes the outcomes of a chunk run by work `name`.
    pub fn decode(bytes: &[u8], name: &str) -> Result<Self, Error> {
        let Some((&mode, items)) = bytes.split_last() else {
            return Err(Error::Serialization {
                work: name.to_owned(),
                what: "output",
                direction: "decode",
                message: "the chunk's outcomes are empty".into(),
            });
        };
        if mode == ALL_OK {
            if let Some(outputs) = decode_all::<T>(items, name, "output")? {
                return Ok(Outcomes::AllOk(outputs));
            }
            // Straight into the outputs while every item decodes (nearly always); into one
            // result per item from the first that does not.
            let mut outputs: Vec<T> = Vec::new();
            let mut mixed: Option<Vec<Result<T, Error>>> = None;
            decode_each_with::<T>(items, name, "output", |_, item| match (&mut mixed, item) {
                (None, Ok(output)) => outputs.push(output),
                (None, Err(error)) => {
                    let mut results: Vec<Result<T, Error>> =
                        std::mem::take(&mut outputs).into_iter().map(Ok).collect();
                    results.push(Err(error));
                    mixed = Some(results);
                }
                (Some(results), item) => results.push(item),
            })?;
            return Ok(match mixed {
                None => Outcomes::AllOk(outputs),
                Some(results) => Outcomes::Mixed(results),
            });
        }
        if let Some(results) = decode_all::<Result<T, WireError>>(items, name, "output")? {
            return Ok(Outcomes::Mixed(
                results
                    .into_iter()
                    .map(|outcome| outcome.map_err(Error::from))
                    .collect(),
            ));
        }
        let mut results = Vec::new();
        decode_each_with::<Result<T, WireError>>(items, name, "output", |_, item| {
            results.push(item.and_then(|outcome| outcome.map_err(Error::from)));
        })?;
        Ok(Outcomes::Mixed(results))
    }
}

impl<T> Outcomes<T> {
    /// How many outcomes there are.
    pub fn len(&self) -> usize {
        match self {
            Outcomes::AllOk(outputs) => outputs.len(),
            Outcomes::Mixed(outcomes) => outcomes.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first outcome, if any.
    pub fn into_first(self) -> Option<Result<T, Error>> {
        match self {
            Outcomes::AllOk(outputs) => outputs.into_iter().next().map(Ok),
            Outcomes::Mixed(outcomes) => outcomes.into_iter().next(),
        }
    }

    /// The outcomes as a map's chunk results.
    pub fn into_chunk_results(self) -> ChunkResults<T> {
        match self {
            Outcomes::AllOk(mut outputs) if outputs.len() == 1 => {
                // Inline: the decoded `Vec` is freed here, not on the thread reading the map.
                ChunkResults::one(Ok(outputs.pop().expect("one output")))
            }
            Outcomes::AllOk(outputs) => ChunkResults::all_ok(outputs),
            Outcomes::Mixed(outcomes) => outcomes.into(),
        }
    }
}

/// Decodes the reply to one submitted work: its one outcome. The output type's
/// `Deserialize` is user code: a panic in it fails this work with `Panicked`.
pub fn decode_one<T: DeserializeOwned>(bytes: &[u8], name: &str) -> Result<T, Error> {
    decoding(name, || {
        if let Some((&ALL_OK, items)) = bytes.split_last() {
            if let Some(output) = decode_single::<T>(items) {
                return Ok(output);
            }
        }
        let outcomes = Outcomes::<T>::decode(bytes, name)?;
        if outcomes.len() != 1 {
            return Err(wrong_count(name));
        }
        outcomes.into_first().ok_or_else(|| wrong_count(name))?
    })
}

/// Decodes the reply to one map chunk of `expected` items sent, putting back in their
/// places the items that could not be encoded (`failed`).
pub fn decode_chunk<T: DeserializeOwned>(
    bytes: &[u8],
    name: &str,
    expected: usize,
    failed: Vec<(usize, Error)>,
) -> Result<ChunkResults<T>, Error> {
    decoding(name, || {
        // A chunk of one item that succeeded (every map of chunksize 1): its output is
        // kept inline, not in a `Vec` of one made here and freed by the map's thread.
        if expected == 1 && failed.is_empty() {
            if let Some((&ALL_OK, items)) = bytes.split_last() {
                if let Some(output) = decode_single::<T>(items) {
                    return Ok(ChunkResults::one(Ok(output)));
                }
            }
        }
        let outcomes = Outcomes::<T>::decode(bytes, name)?;
        if outcomes.len() == expected {
            Ok(crate::registry::framed::merge_failures(
                outcomes.into_chunk_results(),
                failed,
            ))
        } else {
            Err(wrong_count(name))
        }
    })
}

/// Runs `decode` (user code: the output type's `Deserialize`); a panic in it fails the
/// work with `Panicked` and leaves the calling thread serving.
fn decoding<R>(name: &str, decode: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        Err(Error::Panicked {
            message: format!(
                "decoding the output of `{name}` panicked: {}",
                crate::error::panic_message(&*panic)
            ),
        })
    })
}

fn wrong_count(name: &str) -> Error {
    Error::Serialization {
        work: name.to_owned(),
        what: "output",
        direction: "decode",
        message: "the worker replied with the wrong number of results".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serializer};

    use super::*;
    use crate::backend::Chunk;

    #[test]
    fn all_ok_chunks_round_trip_as_outputs() {
        let bytes = encode_outcomes(ChunkResults::all_ok(vec![1u64, 2, 3]), "w").unwrap();
        let outcomes = Outcomes::<u64>::decode(&bytes, "w").unwrap();
        assert!(matches!(&outcomes, Outcomes::AllOk(outputs) if outputs == &[1, 2, 3]));
        let results: Vec<_> = outcomes.into_chunk_results().into_iter().collect();
        assert_eq!(results, [Ok(1), Ok(2), Ok(3)]);
    }

    #[test]
    fn a_failed_item_keeps_every_outcome_in_place() {
        let outcomes = vec![Ok(1u64), Err(Error::Cancelled), Ok(3)];
        let bytes = encode_outcomes(outcomes.into(), "w").unwrap();
        let decoded = Outcomes::<u64>::decode(&bytes, "w").unwrap();
        assert_eq!(decoded.len(), 3);
        let results: Vec<_> = decoded.into_chunk_results().into_iter().collect();
        assert_eq!(results, [Ok(1), Err(Error::Cancelled), Ok(3)]);
    }

    #[test]
    fn an_output_that_cannot_be_encoded_fails_only_its_item() {
        /// Encodes only when even.
        #[derive(Debug, Deserialize, PartialEq)]
        struct Even(u8);
        impl Serialize for Even {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if self.0.is_multiple_of(2) {
                    serializer.serialize_u8(self.0)
                } else {
                    Err(serde::ser::Error::custom("odd"))
                }
            }
        }
        let bytes = encode_outcomes(ChunkResults::all_ok(vec![Even(2), Even(3)]), "w").unwrap();
        let results: Vec<_> = Outcomes::<Even>::decode(&bytes, "w")
            .unwrap()
            .into_chunk_results()
            .into_iter()
            .collect();
        assert_eq!(results[0], Ok(Even(2)));
        assert!(matches!(
            &results[1],
            Err(Error::Serialization {
                what: "output",
                direction: "encode",
                ..
            })
        ));
    }

    #[test]
    fn a_chunk_of_one_decodes_into_a_chunk_of_one() {
        // Every map of chunksize 1: the output is kept inline, not in a `Vec` of one.
        let bytes = encode_outcomes(ChunkResults::one(Ok(7u64)), "w").unwrap();
        let decoded = decode_chunk::<u64>(&bytes, "w", 1, Vec::new()).unwrap();
        assert!(matches!(decoded.into_outputs(), Ok(Chunk::One(7))));
        // A failed item, a count that does not match, a failure to put back: as before.
        let bytes = encode_outcomes(ChunkResults::<u64>::one(Err(Error::Cancelled)), "w").unwrap();
        let results: Vec<_> = decode_chunk::<u64>(&bytes, "w", 1, Vec::new())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(results, [Err(Error::Cancelled)]);
        let two = encode_outcomes(ChunkResults::all_ok(vec![1u64, 2]), "w").unwrap();
        assert!(decode_chunk::<u64>(&two, "w", 1, Vec::new()).is_err());
        let results: Vec<_> = decode_chunk::<u64>(&two, "w", 2, vec![(0, Error::Cancelled)])
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(results, [Err(Error::Cancelled), Ok(1), Ok(2)]);
    }
}
