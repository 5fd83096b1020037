//! [`OrderedIdMap`]: a map for ids handed out in increasing order and removed in any
//! order (the works a worker has in flight, by id), kept as a deque sorted by id.
//!
//! Why not a hash map ([`IdMap`](super::id_map::IdMap)), as before: a hash map grows by
//! moving every entry into a fresh table twice the size, so a burst of 100,000 works
//! touched about twice its final table in new memory, each new page a fault of 3–4 µs on
//! a VM. A process pool's submitting thread spent a tenth of its time there, and each
//! worker process as much (docs/PERFORMANCE.md, fifteenth session). A deque grows by
//! `realloc`, which moves a big block's pages without touching them, and new ids go at
//! its back.
//!
//! 1. An id above the last goes at the back; a smaller one (submitters racing, a work
//!    retried elsewhere) is put in its place, shifting the nearer end.
//! 2. Removing an id leaves a gap, found by binary search; gaps at either end are dropped
//!    at once, and the deque is compacted when its gaps outnumber its entries by more than
//!    a few dozen, so it never holds much more than twice its entries.

use std::collections::VecDeque;

/// Gaps tolerated beyond the entries before the deque is compacted (a few works that
/// outlive many others do not make every removal a compaction).
const SPARE_GAPS: usize = 64;

/// A map from ids to values, for ids that mostly arrive in increasing order; see the
/// module's docs.
///
/// # Examples
///
/// ```
/// use aplex::backend::ordered_ids::OrderedIdMap;
///
/// let mut running = OrderedIdMap::default();
/// running.insert(7u64, "seven");
/// running.insert(9, "nine");
/// running.insert(8, "eight");
/// assert_eq!(running.remove(&8), Some("eight"));
/// assert_eq!(running.keys().copied().collect::<Vec<_>>(), [7, 9]);
/// ```
#[derive(Debug, Clone)]
pub struct OrderedIdMap<K, V> {
    /// Sorted by id; `None` is a removed entry's gap.
    entries: VecDeque<(K, Option<V>)>,
    /// The entries that are not gaps.
    len: usize,
}

impl<K, V> Default for OrderedIdMap<K, V> {
    fn default() -> Self {
        OrderedIdMap {
            entries: VecDeque::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Copy, V> OrderedIdMap<K, V> {
    /// Inserts `value` under `id`, returning the value it replaces, if any.
    pub fn insert(&mut self, id: K, value: V) -> Option<V> {
        let position = match self.entries.back() {
            Some((last, _)) if *last < id => self.entries.len(),
            None => 0,
            Some(_) => match self.position(&id) {
                Ok(found) => {
                    let old = self.entries[found].1.replace(value);
                    if old.is_none() {
                        self.len += 1;
                    }
                    return old;
                }
                Err(place) => place,
            },
        };
        self.entries.insert(position, (id, Some(value)));
        self.len += 1;
        None
    }

    /// Removes `id`'s value and returns it, if it is here.
    pub fn remove(&mut self, id: &K) -> Option<V> {
        let found = self.position(id).ok()?;
        let value = self.entries[found].1.take()?;
        self.len -= 1;
        self.drop_gaps();
        Some(value)
    }

    /// `id`'s value, if it is here.
    pub fn get(&self, id: &K) -> Option<&V> {
        let found = self.position(id).ok()?;
        self.entries[found].1.as_ref()
    }

    /// Whether `id` is here.
    pub fn contains_key(&self, id: &K) -> bool {
        self.get(id).is_some()
    }

    /// How many ids are here.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no id is here.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ids, in increasing order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(id, _)| id)
    }

    /// The values, in their ids' order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    /// The ids and their values, in increasing order of id.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(|(id, value)| Some((id, value.as_ref()?)))
    }

    /// Takes every id and value out, in increasing order of id; the map keeps its room.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.len = 0;
        self.entries
            .drain(..)
            .filter_map(|(id, value)| Some((id, value?)))
    }

    /// Where `id` is (or would go): the oldest first, as works mostly end in the order
    /// they came, then a binary search.
    fn position(&self, id: &K) -> Result<usize, usize> {
        match self.entries.front() {
            Some((oldest, _)) if oldest == id => Ok(0),
            _ => self.entries.binary_search_by(|(entry, _)| entry.cmp(id)),
        }
    }

    /// Drops the gaps at both ends, and compacts the deque once gaps outnumber entries by
    /// more than [`SPARE_GAPS`].
    fn drop_gaps(&mut self) {
        while self
            .entries
            .front()
            .is_some_and(|(_, value)| value.is_none())
        {
            self.entries.pop_front();
        }
        while self
            .entries
            .back()
            .is_some_and(|(_, value)| value.is_none())
        {
            self.entries.pop_back();
        }
        if self.entries.len() > 2 * self.len + SPARE_GAPS {
            self.entries.retain(|(_, value)| value.is_some());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::id_map::IdMap;

    /// A small deterministic generator (xorshift), so the test needs no crate.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn it_agrees_with_a_hash_map_whatever_the_order_of_ids() {
        let mut ordered = OrderedIdMap::default();
        let mut hashed: IdMap<u64, u64> = IdMap::default();
        let mut state = 0x2545_f491_4f6c_dd1d;
        let mut next_id = 0u64;
        for step in 0..200_000u64 {
            let roll = next(&mut state) % 100;
            if roll < 50 {
                // Mostly the next id; sometimes one from the past (a retried work) or a
                // repeat, which replaces.
                let id = match roll {
                    0..=39 => {
                        next_id += 1 + next(&mut state) % 3;
                        next_id
                    }
                    _ => next(&mut state) % (next_id + 1),
                };
                assert_eq!(ordered.insert(id, step), hashed.insert(id, step));
            } else {
                // Removal: mostly an old id (the front), otherwise any.
                let id = match roll {
                    50..=79 => next_id.saturating_sub(next(&mut state) % 2_000),
                    _ => next(&mut state) % (next_id + 1),
                };
                assert_eq!(ordered.remove(&id), hashed.remove(&id));
                assert_eq!(ordered.contains_key(&id), hashed.contains_key(&id));
            }
            assert_eq!(ordered.len(), hashed.len());
            assert!(
                ordered.entries.len() <= 2 * ordered.len() + SPARE_GAPS,
                "gaps are dropped: {} entries for {} ids",
                ordered.entries.len(),
                ordered.len()
            );
        }
        let mut expected: Vec<(u64, u64)> = hashed.into_iter().collect();
        expected.sort_unstable();
        let kept: Vec<(u64, u64)> = ordered.iter().map(|(id, v)| (*id, *v)).collect();
        assert_eq!(kept, expected, "iterated in order, every id kept");
        assert!(ordered
            .keys()
            .copied()
            .eq(expected.iter().map(|(id, _)| *id)));
        assert!(ordered
            .values()
            .copied()
            .eq(expected.iter().map(|(_, v)| *v)));
        assert_eq!(ordered.get(&expected[0].0), Some(&expected[0].1));
        let drained: Vec<(u64, u64)> = ordered.drain().collect();
        assert_eq!(drained, expected);
        assert!(ordered.is_empty() && ordered.iter().next().is_none());
    }

    #[test]
    fn a_long_lived_id_does_not_keep_the_gaps_behind_it() {
        let mut map = OrderedIdMap::default();
        map.insert(0u64, ());
        for id in 1..100_000u64 {
            map.insert(id, ());
            assert_eq!(map.remove(&id), Some(()));
        }
        assert_eq!(map.len(), 1);
        assert_eq!(map.entries.len(), 1, "the gaps at the back were dropped");
        for id in 100_000..100_100u64 {
            map.insert(id, ());
        }
        for id in 100_000..100_099u64 {
            map.remove(&id);
        }
        assert!(
            map.entries.len() <= 2 * map.len() + SPARE_GAPS,
            "gaps in the middle were compacted: {} entries",
            map.entries.len()
        );
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), [0, 100_099]);
    }
}
