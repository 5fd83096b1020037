//! [`InFlight`]: a slot's works in flight (sent or staged for its process, not yet
//! answered), each by id with the completer that decodes its reply (in an
//! [`OrderedIdMap`]: ids are handed out in increasing order, and a burst of 100,000
//! grows it without rehashing), and their count, readable without the slot's lock.
//!
//! The count tells the slot's writer thread when more frames are surely coming: while
//! the process has many works in flight (a burst of submits, a map), the writer waits a
//! short window before it sends, so frames leave together ([`Coalesce`]: one `sendmsg`,
//! one wake-up of the process's reader and of its runtime per window, not per work).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aplex_core::backend::ordered_ids::OrderedIdMap;

use crate::parent::job::Completer;
use crate::protocol::coalesce::Coalesce;

/// The fewest works in flight for the writer to wait for more frames: far more than a
/// map keeps in one process by default (300, its `max_works_per_worker`), where frames
/// are sent as results come back and a wait could leave the process idle (with 8, as
/// the child's replies use, 1 µs blocking works at chunksize 1 ran 5 % slower in a
/// median of 7); a swarm of `submit`s reaches it at once.
pub(crate) const COALESCE_AT_LEAST: usize = 1024;

/// The works in flight of one slot, by id.
#[derive(Default)]
pub(crate) struct InFlight {
    works: OrderedIdMap<u64, Completer>,
    /// `works.len()`, shared with the writer thread's [`Coalesce`].
    count: Arc<AtomicUsize>,
}

impl InFlight {
    /// When the slot's writer waits for more frames: while many works are in flight.
    pub(crate) fn coalesce(&self) -> Coalesce {
        Coalesce::while_at_least(Arc::clone(&self.count), COALESCE_AT_LEAST)
    }

    pub(crate) fn insert(&mut self, id: u64, completer: Completer) {
        self.works.insert(id, completer);
        self.publish();
    }

    pub(crate) fn remove(&mut self, id: &u64) -> Option<Completer> {
        let removed = self.works.remove(id);
        self.publish();
        removed
    }

    pub(crate) fn contains_key(&self, id: &u64) -> bool {
        self.works.contains_key(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.works.len()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &u64> {
        self.works.keys()
    }

    /// Every work, taken out.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (u64, Completer)> + '_ {
        self.count.store(0, Ordering::Release);
        self.works.drain()
    }

    fn publish(&self) {
        self.count.store(self.works.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn the_count_follows_the_works_and_tells_the_writer_when_many_are_in_flight() {
        let mut in_flight = InFlight::default();
        let coalesce = in_flight.coalesce();
        let many = COALESCE_AT_LEAST as u64;
        for id in 0..many {
            in_flight.insert(id, Completer::by_closure(0, |_| {}));
        }
        assert_eq!(in_flight.count.load(Ordering::Acquire), COALESCE_AT_LEAST);
        assert!(
            coalesce.many_coming(),
            "many in flight: the writer waits for more"
        );
        assert!(in_flight.remove(&3).is_some());
        assert!(in_flight.remove(&3).is_none());
        assert!(!coalesce.many_coming(), "one fewer: frames leave at once");
        assert_eq!(in_flight.drain().count(), COALESCE_AT_LEAST - 1);
        assert_eq!(in_flight.count.load(Ordering::Acquire), 0);
    }
}
