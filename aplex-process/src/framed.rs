//! A chunk of values on the wire, each item encoded on its own, so one item that cannot
//! be encoded or decoded fails only itself, never its whole chunk.
//!
//! Layout: the items' postcard encodings one after another, then the end offset of each
//! (`u32`, little-endian), then the number of items (`u32`). One buffer per chunk, as
//! before; the table costs four bytes an item, and decoding checks it before trusting it,
//! so a malformed buffer is an error, never a panic.

use postcard::ser_flavors::Flavor;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_bytes::ByteBuf;

use aplex_core::{ChunkResults, Error};

use crate::probe::custom_message;

/// Appends to a `Vec` (a postcard output that does not own its buffer).
struct Append<'a>(&'a mut Vec<u8>);

impl Flavor for Append<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Encodes `items` one by one into one buffer. An item that cannot be encoded is left
/// out; it comes back with its position and the error, whose message is the
/// serializer's own.
pub(crate) fn encode_each<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    work: &str,
    what: &'static str,
) -> (ByteBuf, Vec<(usize, Error)>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::new();
    let mut failed = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let start = bytes.len();
        match postcard::serialize_with_flavor(&item, Append(&mut bytes)) {
            Ok(()) => ends.push(bytes.len() as u32),
            Err(error) => {
                bytes.truncate(start);
                let message = custom_message(&item).unwrap_or_else(|| error.to_string());
                failed.push((index, encoding_error(work, what, message)));
            }
        }
    }
    for end in &ends {
        bytes.extend_from_slice(&end.to_le_bytes());
    }
    bytes.extend_from_slice(&(ends.len() as u32).to_le_bytes());
    (ByteBuf::from(bytes), failed)
}

/// Decodes every item of a buffer made by [`encode_each`]: one result per item. Fails as
/// a whole only when the buffer's table is malformed.
pub(crate) fn decode_each<T: DeserializeOwned>(
    bytes: &[u8],
    work: &str,
    what: &'static str,
) -> Result<Vec<Result<T, Error>>, Error> {
    let ends = table(bytes)
        .ok_or_else(|| decoding_error(work, what, "the chunk's item table is malformed".into()))?;
    let mut start = 0;
    Ok(ends
        .map(|end| {
            let item = &bytes[start..end];
            start = end;
            postcard::from_bytes(item)
                .map_err(|error| decoding_error(work, what, error.to_string()))
        })
        .collect())
}

/// Splits decoded items into the values to run and the positions and errors of those
/// that could not be decoded.
pub(crate) fn split_failures<A>(items: Vec<Result<A, Error>>) -> (Vec<A>, Vec<(usize, Error)>) {
    let mut values = Vec::with_capacity(items.len());
    let mut failed = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Ok(value) => values.push(value),
            Err(error) => failed.push((index, error)),
        }
    }
    (values, failed)
}

/// Puts the items that failed before they could run back in their places among the
/// results of the others.
pub(crate) fn merge_failures<T>(
    results: ChunkResults<T>,
    failed: Vec<(usize, Error)>,
) -> ChunkResults<T> {
    if failed.is_empty() {
        return results;
    }
    let mut results = results.into_iter();
    let mut failed = failed.into_iter().peekable();
    let mut merged = Vec::new();
    loop {
        match failed.peek() {
            Some((index, _)) if *index == merged.len() => {
                let (_, error) = failed.next().expect("peeked");
                merged.push(Err(error));
            }
            _ => match results.next() {
                Some(result) => merged.push(result),
                None => break,
            },
        }
    }
    merged.extend(failed.map(|(_, error)| Err(error)));
    merged.into()
}

/// The end offsets of the items, checked to be in order and within the items' bytes.
fn table(bytes: &[u8]) -> Option<impl Iterator<Item = usize> + '_> {
    let read = |at: usize| -> Option<usize> {
        let word: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(word) as usize)
    };
    let count = read(bytes.len().checked_sub(4)?)?;
    let table_start = bytes
        .len()
        .checked_sub(count.checked_mul(4)?.checked_add(4)?)?;
    let mut previous = 0;
    for index in 0..count {
        let end = read(table_start + 4 * index)?;
        if end < previous || end > table_start {
            return None;
        }
        previous = end;
    }
    Some((0..count).filter_map(move |index| read(table_start + 4 * index)))
}

fn encoding_error(work: &str, what: &'static str, message: String) -> Error {
    Error::Serialization {
        work: work.to_owned(),
        what,
        direction: "encode",
        message,
    }
}

fn decoding_error(work: &str, what: &'static str, message: String) -> Error {
    Error::Serialization {
        work: work.to_owned(),
        what,
        direction: "decode",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Encodes fine unless odd; decodes fine unless it was 2.
    #[derive(Debug, PartialEq)]
    struct Picky(u8);

    impl Serialize for Picky {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if self.0 % 2 == 1 {
                return Err(serde::ser::Error::custom(format!("{} is odd", self.0)));
            }
            serializer.serialize_u8(self.0)
        }
    }

    impl<'de> Deserialize<'de> for Picky {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            match u8::deserialize(deserializer)? {
                2 => Err(serde::de::Error::custom("2 is refused")),
                value => Ok(Picky(value)),
            }
        }
    }

    #[test]
    fn one_item_that_fails_fails_alone_with_its_own_message() {
        let items = [Picky(0), Picky(1), Picky(2), Picky(4)];
        let (bytes, failed) = encode_each(items.iter(), "w", "arguments");
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].0, 1);
        match &failed[0].1 {
            Error::Serialization {
                message, direction, ..
            } => {
                assert_eq!(message, "1 is odd", "the serializer's own message");
                assert_eq!(*direction, "encode");
            }
            other => panic!("{other:?}"),
        }
        let decoded: Vec<Result<Picky, Error>> = decode_each(&bytes, "w", "arguments").unwrap();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0], Ok(Picky(0)));
        assert!(matches!(
            decoded[1],
            Err(Error::Serialization {
                direction: "decode",
                ..
            })
        ));
        assert_eq!(decoded[2], Ok(Picky(4)));
    }

    #[test]
    fn failures_go_back_in_their_places() {
        let results: ChunkResults<u8> = vec![Ok(1), Ok(3)].into();
        let merged: Vec<_> = merge_failures(
            results,
            vec![
                (0, Error::Cancelled),
                (2, Error::TimedOut),
                (4, Error::Cancelled),
            ],
        )
        .into_iter()
        .collect();
        assert_eq!(
            merged,
            [
                Err(Error::Cancelled),
                Ok(1),
                Err(Error::TimedOut),
                Ok(3),
                Err(Error::Cancelled)
            ]
        );
    }

    #[test]
    fn malformed_tables_are_errors_not_panics() {
        let (bytes, _) = encode_each([1u64, 2, 3], "w", "arguments");
        for cut in 0..bytes.len() {
            let _ = decode_each::<u64>(&bytes[..cut], "w", "arguments");
        }
        let mut lying = bytes.to_vec();
        let last = lying.len() - 4;
        lying[last..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_each::<u64>(&lying, "w", "arguments").is_err());
        assert_eq!(
            decode_each::<u64>(&bytes, "w", "arguments").unwrap(),
            [Ok(1), Ok(2), Ok(3)]
        );
    }
}
