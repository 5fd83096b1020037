//! [`InlineBytes`]: encoded bytes kept inside whatever holds them when they are few, so
//! that a tiny work's arguments and outcome cost no allocation of their own.
//!
//! A tiny work's encoded arguments (and its outcome) are a few dozen bytes. Held in a
//! `ByteBuf`, each was an allocation made on one thread and freed on another, four per
//! work across a process pool (the parent's encoding, freed by its writer; the child's
//! decoded copy, freed by its runtime; the child's encoded outcome, freed by its writer;
//! the parent's decoded copy, freed where the outcome was read) and one more for the
//! [`Args`](crate::registry::Args) that boxed the child's copy. Up to [`SMALL`] bytes now
//! live inline, in the process pool's frames and in `Args`; the encoding's own buffer
//! goes back to its thread for the next encoding ([`spare_buffers::recycle`]), and a
//! frame read from a message copies a small payload straight out of it.
//!
//! On the wire it is a byte string, as a `ByteBuf` is.

use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_bytes::ByteBuf;

use crate::registry::spare_buffers;

/// The most bytes kept inline: 38 keeps an `InlineBytes` at 40 bytes, no bigger than the
/// process pool's other payloads, so its frames keep their size.
pub const SMALL: usize = 38;

/// Bytes: up to [`SMALL`] inline, more in a `ByteBuf`.
///
/// # Examples
///
/// ```
/// use aplex_core::registry::inline_bytes::{InlineBytes, SMALL};
/// use serde_bytes::ByteBuf;
///
/// let small = InlineBytes::from(ByteBuf::from(vec![1, 2, 3]));
/// assert!(matches!(small, InlineBytes::Small { .. }));
/// assert_eq!(&*small, [1, 2, 3]);
/// let big = InlineBytes::copy_of(&[0; SMALL + 1]);
/// assert!(matches!(big, InlineBytes::Heap(_)));
/// ```
#[derive(Clone)]
pub enum InlineBytes {
    /// `len` bytes at the start of `bytes`.
    Small {
        /// How many of `bytes` are the bytes.
        len: u8,
        /// The bytes, then zeros.
        bytes: [u8; SMALL],
    },
    /// More than [`SMALL`] bytes (or bytes handed over as they were).
    Heap(ByteBuf),
}

impl InlineBytes {
    /// A copy of `bytes`, inline if they fit.
    pub fn copy_of(bytes: &[u8]) -> Self {
        if bytes.len() <= SMALL {
            let mut small = [0u8; SMALL];
            small[..bytes.len()].copy_from_slice(bytes);
            InlineBytes::Small {
                len: bytes.len() as u8,
                bytes: small,
            }
        } else {
            InlineBytes::Heap(ByteBuf::from(bytes))
        }
    }

    /// The bytes in a `ByteBuf` of their own.
    pub fn into_byte_buf(self) -> ByteBuf {
        match self {
            InlineBytes::Small { .. } => ByteBuf::from(&*self),
            InlineBytes::Heap(bytes) => bytes,
        }
    }
}

impl From<ByteBuf> for InlineBytes {
    /// Small bytes are copied inline and their buffer goes back to this thread's next
    /// encoding; bigger ones keep their buffer.
    fn from(bytes: ByteBuf) -> Self {
        if bytes.len() <= SMALL {
            let inline = InlineBytes::copy_of(&bytes);
            spare_buffers::recycle(bytes.into_vec());
            inline
        } else {
            InlineBytes::Heap(bytes)
        }
    }
}

impl Default for InlineBytes {
    fn default() -> Self {
        InlineBytes::copy_of(&[])
    }
}

impl Deref for InlineBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            InlineBytes::Small { len, bytes } => &bytes[..usize::from(*len)],
            InlineBytes::Heap(bytes) => bytes,
        }
    }
}

impl fmt::Debug for InlineBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InlineBytes")
            .field("len", &self.len())
            .finish()
    }
}

impl Serialize for InlineBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self)
    }
}

impl<'de> Deserialize<'de> for InlineBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_bytes(InlineBytesVisitor)
    }
}

struct InlineBytesVisitor;

impl<'de> Visitor<'de> for InlineBytesVisitor {
    type Value = InlineBytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<InlineBytes, E> {
        Ok(InlineBytes::copy_of(bytes))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<InlineBytes, E> {
        Ok(InlineBytes::from(ByteBuf::from(bytes)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<InlineBytes, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Ok(InlineBytes::from(ByteBuf::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(bytes: &[u8]) -> InlineBytes {
        let encoded = rmp_serde::to_vec(&InlineBytes::copy_of(bytes)).unwrap();
        // The same bytes on the wire as a `ByteBuf`'s.
        assert_eq!(encoded, rmp_serde::to_vec(&ByteBuf::from(bytes)).unwrap());
        rmp_serde::from_slice(&encoded).unwrap()
    }

    #[test]
    fn small_bytes_stay_inline_and_big_ones_on_the_heap() {
        for len in [0, 1, SMALL - 1, SMALL, SMALL + 1, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let decoded = round_trip(&bytes);
            assert_eq!(&*decoded, &bytes[..]);
            assert_eq!(
                matches!(decoded, InlineBytes::Small { .. }),
                len <= SMALL,
                "{len} bytes"
            );
            let from_buf = InlineBytes::from(ByteBuf::from(bytes.clone()));
            assert_eq!(&*from_buf, &bytes[..]);
            assert_eq!(from_buf.clone().into_byte_buf().into_vec(), bytes);
        }
    }

    #[test]
    fn it_keeps_a_payload_no_bigger_than_its_other_variants() {
        // The process pool's `Lent` payload is 40 bytes: an inline one no bigger keeps
        // its `Run` and `Done` frames at their size.
        assert!(std::mem::size_of::<InlineBytes>() <= 40);
    }
}
