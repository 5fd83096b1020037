//! A chunk of values on the wire, each item encoded on its own, so one item that cannot
//! be encoded or decoded fails only itself, never its whole chunk.
//!
//! The codec is MessagePack (`rmp-serde`), with structs as maps of field names: it is
//! self-describing, so every type that round-trips through `serde_json` round-trips here
//! too — internally tagged and untagged enums, `#[serde(flatten)]`,
//! `skip_serializing_if`, `serde_json::Value` — where a positional codec (postcard,
//! bincode) fails or, worse, misreads. See docs/ARCHITECTURE.md for what it costs.
//!
//! Layout: up to `PREFIX_ROOM` unused bytes, then a MessagePack array of the items (its
//! header, then the items one after another), then the end of each item (`u32`,
//! little-endian), the number of items and where the array starts (`u32` each). So the
//! usual case decodes the whole array in one go, as a plain `Vec`, and only a chunk with
//! an item that does not decode falls back to decoding item by item with the table. The
//! table costs four bytes an item; decoding checks it before trusting it, so a malformed
//! buffer is an error, never a panic.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_bytes::ByteBuf;

use crate::backend::ChunkResults;
use crate::Error;

use crate::registry::encoded::{EncodeBuffer, Encoded, ExternalStore};
use crate::registry::probe::custom_message;

/// The items of a chunk that failed before they could run: their positions and errors.
pub type Failures = Vec<(usize, Error)>;

/// Encodes one value, structs as maps of their field names.
fn encode_into<T: Serialize + ?Sized>(
    bytes: &mut EncodeBuffer<'_>,
    value: &T,
) -> Result<(), String> {
    value
        .serialize(&mut rmp_serde::Serializer::new(bytes).with_struct_map())
        .map_err(|error| error.to_string())
}

/// Decodes one value.
fn decode_from<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|error| error.to_string())
}

/// The MessagePack header of an array of `count` items, right-aligned in
/// `PREFIX_ROOM` bytes; returns where it starts.
fn array_header(count: usize, room: &mut [u8; PREFIX_ROOM]) -> usize {
    let count = u32::try_from(count).expect("a chunk holds fewer than 2^32 items");
    if count < 16 {
        room[PREFIX_ROOM - 1] = 0x90 | count as u8;
        PREFIX_ROOM - 1
    } else if let Ok(short) = u16::try_from(count) {
        room[PREFIX_ROOM - 3] = 0xdc;
        room[PREFIX_ROOM - 2..].copy_from_slice(&short.to_be_bytes());
        PREFIX_ROOM - 3
    } else {
        room[0] = 0xdd;
        room[1..].copy_from_slice(&count.to_be_bytes());
        0
    }
}

/// Encodes `items` one by one into one buffer. An item that cannot be encoded is left
/// out; it comes back with its position and the error, whose message is the
/// serializer's own.
pub fn encode_each<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    work: &str,
    what: &'static str,
) -> (ByteBuf, Vec<(usize, Error)>) {
    let (encoded, failed) = encode_each_to(items, work, what, None);
    (encoded.into_byte_buf(), failed)
}

/// [`encode_each`], moving to `store` once the encoding grows past its threshold
/// (`encoded.rs`), so a big payload is written once, where it crosses.
pub fn encode_each_to<T: Serialize>(
    items: impl IntoIterator<Item = T>,
    work: &str,
    what: &'static str,
    store: Option<&dyn ExternalStore>,
) -> (Encoded, Vec<(usize, Error)>) {
    let items = items.into_iter();
    let expected = items.size_hint().0;
    // Room for the length, small items and the table: most chunks need no reallocation.
    let mut bytes = EncodeBuffer::new(PREFIX_ROOM + expected * 12 + 24, store);
    bytes.extend(&[0; PREFIX_ROOM]);
    let mut ends = Ends::new(expected);
    let mut failed = Vec::new();
    for (index, item) in items.enumerate() {
        let start = bytes.len();
        match encode_into(&mut bytes, &item) {
            Ok(()) => ends.push(bytes.len() as u32),
            Err(error) => {
                bytes.truncate(start);
                let message = custom_message(&item).unwrap_or(error);
                failed.push((index, encoding_error(work, what, message)));
            }
        }
    }
    // The array's header goes right before its items.
    // Room for the table and a mode byte after it (`outcomes.rs`): no copy to grow.
    bytes.reserve(ends.len() * 4 + 9);
    let mut header = [0u8; PREFIX_ROOM];
    let vec_start = array_header(ends.len(), &mut header);
    bytes.written_mut()[vec_start..PREFIX_ROOM].copy_from_slice(&header[vec_start..]);
    for end in ends.iter() {
        bytes.extend(&end.to_le_bytes());
    }
    bytes.extend(&(ends.len() as u32).to_le_bytes());
    bytes.extend(&(vec_start as u32).to_le_bytes());
    (bytes.finish(), failed)
}

/// Where each item encoded by [`encode_each`] ends: the first few inline, so a lone
/// `submit`'s argument or a lone work's outcome allocates only its buffer (the table's
/// own `Vec` had been one more allocation per work on each side of a process pool).
struct Ends {
    inline: [u32; INLINE_ENDS],
    count: usize,
    more: Vec<u32>,
    /// How many items are expected, as far as known: room reserved once they spill.
    expected: usize,
}

/// The ends kept inline.
const INLINE_ENDS: usize = 8;

impl Ends {
    /// No ends yet, of `expected` items as far as known.
    fn new(expected: usize) -> Self {
        Ends {
            inline: [0; INLINE_ENDS],
            count: 0,
            more: Vec::new(),
            expected,
        }
    }

    /// Adds the next item's end.
    fn push(&mut self, end: u32) {
        if self.count < INLINE_ENDS {
            self.inline[self.count] = end;
        } else {
            if self.more.capacity() == 0 {
                self.more.reserve(self.expected.saturating_sub(INLINE_ENDS));
            }
            self.more.push(end);
        }
        self.count += 1;
    }

    fn len(&self) -> usize {
        self.count
    }

    fn iter(&self) -> impl Iterator<Item = &u32> {
        self.inline[..self.count.min(INLINE_ENDS)]
            .iter()
            .chain(&self.more)
    }
}

/// Room at the start of a buffer for the array's header (the most MessagePack takes).
const PREFIX_ROOM: usize = 5;

/// Where things are in a buffer made by [`encode_each`], checked.
struct Layout {
    /// The number of items.
    count: usize,
    /// Where the array (its header, then its items) starts.
    vec_start: usize,
    /// Where the table of item ends starts (just after the last item).
    table_start: usize,
}

impl Layout {
    fn of(bytes: &[u8]) -> Option<Layout> {
        let count = read_u32(bytes, bytes.len().checked_sub(8)?)?;
        let vec_start = read_u32(bytes, bytes.len() - 4)?;
        let table_start = bytes
            .len()
            .checked_sub(count.checked_mul(4)?.checked_add(8)?)?;
        (vec_start <= PREFIX_ROOM && PREFIX_ROOM <= table_start).then_some(Layout {
            count,
            vec_start,
            table_start,
        })
    }

    /// The end of item `index`, checked to lie between `start` and the table.
    fn end(&self, bytes: &[u8], index: usize, start: usize) -> Option<usize> {
        let end = read_u32(bytes, self.table_start + 4 * index)?;
        (start <= end && end <= self.table_start).then_some(end)
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let word: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(word) as usize)
}

/// Decodes the one item of a buffer made by [`encode_each`] of one item — a lone
/// `submit`'s argument, its work's outcome — without the `Vec` of [`decode_all`]; `None`
/// if the buffer holds another number of items or the item does not decode (the general
/// decoders then say why).
pub fn decode_single<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let layout = Layout::of(bytes)?;
    if layout.count != 1 {
        return None;
    }
    let end = layout.end(bytes, 0, PREFIX_ROOM)?;
    decode_from::<T>(&bytes[PREFIX_ROOM..end]).ok()
}

/// Decodes every item of a buffer made by [`encode_each`] at once — the usual case, as
/// fast as decoding a plain `Vec` — or, if some item does not decode, `None`.
pub fn decode_all<T: DeserializeOwned>(
    bytes: &[u8],
    work: &str,
    what: &'static str,
) -> Result<Option<Vec<T>>, Error> {
    let layout = Layout::of(bytes).ok_or_else(|| malformed(work, what))?;
    let items_end = match layout.count {
        0 => PREFIX_ROOM,
        count => layout
            .end(bytes, count - 1, PREFIX_ROOM)
            .ok_or_else(|| malformed(work, what))?,
    };
    Ok(decode_from::<Vec<T>>(&bytes[layout.vec_start..items_end])
        .ok()
        .filter(|items| items.len() == layout.count))
}

/// Decodes every item of a buffer made by [`encode_each`] one by one, handing each
/// item's position and result to `each`; returns how many there were. Fails as a whole
/// only when the buffer's table is malformed.
pub fn decode_each_with<T: DeserializeOwned>(
    bytes: &[u8],
    work: &str,
    what: &'static str,
    mut each: impl FnMut(usize, Result<T, Error>),
) -> Result<usize, Error> {
    let layout = Layout::of(bytes).ok_or_else(|| malformed(work, what))?;
    let mut start = PREFIX_ROOM;
    for index in 0..layout.count {
        let end = layout
            .end(bytes, index, start)
            .ok_or_else(|| malformed(work, what))?;
        let item =
            decode_from(&bytes[start..end]).map_err(|message| decoding_error(work, what, message));
        each(index, item);
        start = end;
    }
    Ok(layout.count)
}

fn malformed(work: &str, what: &'static str) -> Error {
    decoding_error(work, what, "the chunk's item table is malformed".into())
}

/// Decodes every item of a buffer made by [`encode_each`]: one result per item.
#[cfg(test)]
pub fn decode_each<T: DeserializeOwned>(
    bytes: &[u8],
    work: &str,
    what: &'static str,
) -> Result<Vec<Result<T, Error>>, Error> {
    let mut items = Vec::new();
    decode_each_with(bytes, work, what, |_, item| items.push(item))?;
    Ok(items)
}

/// Decodes the items of a buffer made by [`encode_each`] into the values to run and the
/// positions and errors of those that could not be decoded.
pub fn decode_split<A: DeserializeOwned>(
    bytes: &[u8],
    work: &str,
    what: &'static str,
) -> Result<(Vec<A>, Failures), Error> {
    if let Some(values) = decode_all(bytes, work, what)? {
        return Ok((values, Vec::new()));
    }
    let mut values = Vec::new();
    let mut failed = Vec::new();
    decode_each_with(bytes, work, what, |index, item| match item {
        Ok(value) => values.push(value),
        Err(error) => failed.push((index, error)),
    })?;
    Ok((values, failed))
}

/// Puts the items that failed before they could run back in their places among the
/// results of the others.
pub fn merge_failures<T>(results: ChunkResults<T>, failed: Vec<(usize, Error)>) -> ChunkResults<T> {
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
                (2, Error::Cancelled),
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
                Err(Error::Cancelled),
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
        let count_at = lying.len() - 8;
        lying[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_each::<u64>(&lying, "w", "arguments").is_err());
        assert_eq!(
            decode_each::<u64>(&bytes, "w", "arguments").unwrap(),
            [Ok(1), Ok(2), Ok(3)]
        );
    }

    #[test]
    fn chunks_of_every_size_around_the_inline_ends_round_trip() {
        for count in [0, 1, 7, 8, 9, 17, 300] {
            let items: Vec<String> = (0..count).map(|i| "x".repeat(i % 5)).collect();
            let (bytes, failed) = encode_each(&items, "w", "arguments");
            assert!(failed.is_empty());
            let decoded: Vec<Result<String, Error>> =
                decode_each(&bytes, "w", "arguments").unwrap();
            let expected: Vec<Result<String, Error>> = items.into_iter().map(Ok).collect();
            assert_eq!(decoded, expected, "{count} items");
        }
        // An iterator that hints no length spills past the inline ends all the same.
        let (bytes, _) = encode_each((0..20u64).filter(|_| true), "w", "arguments");
        let decoded: Vec<Result<u64, Error>> = decode_each(&bytes, "w", "arguments").unwrap();
        assert_eq!(decoded, (0..20).map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn a_single_item_decodes_alone_and_anything_else_is_left_to_the_general_decoders() {
        let (one, _) = encode_each([String::from("ada")], "w", "arguments");
        assert_eq!(decode_single::<String>(&one), Some(String::from("ada")));
        assert_eq!(
            decode_single::<u8>(&one),
            None,
            "an item that does not decode"
        );
        let (two, _) = encode_each([1u64, 2], "w", "arguments");
        assert_eq!(decode_single::<u64>(&two), None, "two items");
        let (none, _) = encode_each(Vec::<u64>::new(), "w", "arguments");
        assert_eq!(decode_single::<u64>(&none), None, "no item");
        assert_eq!(
            decode_single::<u64>(&one[..one.len() - 3]),
            None,
            "cut short"
        );
    }
}
