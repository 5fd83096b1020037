//! [`IdMap`]: a hash map for the ids a backend tracks by the tens of thousands (its works
//! in flight, by [`WorkId`](crate::backend::WorkId) or a submitter's number), with a
//! hasher of a multiply and a rotate per word instead of the standard SipHash — which
//! measured as the largest single cost of a remote node holding 50,000 sleeping works.
//!
//! A key of one word (an id) keeps its low bits as the hash's, so ids handed out in
//! turn sit side by side in the table: 100,000 sleepers through `submit` ran 6–8 %
//! faster on threads and on processes, the process pool (parent and workers) using about
//! a tenth less CPU, than with the id mixed (docs/PERFORMANCE.md).
//!
//! The hasher is not keyed, so keys chosen to collide slow the map down: use it for ids
//! the backend hands out, or that only a party already allowed to run works can choose
//! (ids that differ only above their low bits, multiples of a large power of two, would
//! share a place).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map keyed by ids, hashed with [`IdHasher`].
///
/// # Examples
///
/// ```
/// use aplex::backend::id_map::IdMap;
/// use aplex::backend::WorkId;
///
/// let mut running: IdMap<WorkId, &str> = IdMap::default();
/// running.insert(WorkId(7), "seven");
/// assert_eq!(running.remove(&WorkId(7)), Some("seven"));
/// ```
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The multiplier of the Fx hash (rustc's): odd, with its bits spread.
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// A fast hasher for ids: each word folded in with a rotate, a xor and a multiply (the Fx
/// hash); bytes are taken eight at a time. A key of one word keeps it in the hash's low
/// bits ([`finish`](Hasher::finish)).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher {
    hash: u64,
    /// The last word folded in, and how many were.
    last: u64,
    words: u32,
}

/// The bits of a lone id kept as they are (see [`IdHasher::finish`]); the 7 above them
/// are hashbrown's tag of the entry.
const ID_BITS: u64 = (1 << 57) - 1;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
        self.last = word;
        self.words = self.words.saturating_add(1);
    }
}

impl Hasher for IdHasher {
    /// A key of one word keeps its low bits, which place the entry, and takes the mixed
    /// hash's top bits, hashbrown's tag (see the module's docs); longer keys hash mixed.
    fn finish(&self) -> u64 {
        if self.words == 1 {
            (self.last & ID_BITS) | (self.hash & !ID_BITS)
        } else {
            self.hash
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut eight = [0; 8];
            eight.copy_from_slice(word);
            self.add(u64::from_le_bytes(eight));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut eight = [0; 8];
            eight[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(eight));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of(value: impl Hash) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(value)
    }

    #[test]
    fn sequential_ids_and_strings_hash_apart_and_the_map_keeps_them() {
        let hashes: std::collections::HashSet<u64> = (0..10_000u64).map(hash_of).collect();
        assert_eq!(hashes.len(), 10_000);
        assert_ne!(hash_of("s1"), hash_of("s2"));
        assert_ne!(hash_of("abcdefgh1"), hash_of("abcdefgh2"));
        let mut map: IdMap<(String, u64), u64> = IdMap::default();
        for n in 0..1_000 {
            map.insert((format!("submitter{}", n % 3), n), n);
        }
        assert_eq!(map.len(), 1_000);
        assert_eq!(map.get(&("submitter1".to_owned(), 4)), Some(&4));
    }

    #[test]
    fn a_lone_id_keeps_its_low_bits_and_gets_a_mixed_tag() {
        // The low bits place an entry: consecutive ids, consecutive places.
        for id in [0u64, 1, 2, 1_000_003, u64::MAX >> 8] {
            assert_eq!(hash_of(id) & ID_BITS, id & ID_BITS);
            assert_eq!(hash_of(crate::worker::WorkId(id)) & ID_BITS, id & ID_BITS);
        }
        // The top 7 bits tell a group's entries apart: mixed, not all the same.
        let tags: std::collections::HashSet<u64> =
            (0..1_000u64).map(|id| hash_of(id) >> 57).collect();
        assert!(tags.len() > 64, "only {} distinct tags", tags.len());
        // A key of two words is mixed throughout.
        assert_ne!(hash_of((1u64, 2u64)) & ID_BITS, 2);
        // And a map keyed by ids keeps them, across growth and a sliding window.
        let mut map: IdMap<u64, u64> = IdMap::default();
        for id in 0..50_000u64 {
            map.insert(id, id * 2);
            if id >= 1_000 {
                assert_eq!(map.remove(&(id - 1_000)), Some((id - 1_000) * 2));
            }
        }
        assert_eq!(map.len(), 1_000);
        assert_eq!(map.get(&49_999), Some(&99_998));
    }
}
