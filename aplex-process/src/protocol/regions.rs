//! Shared-memory regions lent between one parent and one child: how big payloads cross
//! at the speed of memory.
//!
//! A region comes from the process's store (`store.rs`): a big payload is encoded
//! straight into one (`Payload::Stored`), or — when it was encoded into a `Vec` — copied
//! into one as it leaves. Then:
//!
//! 1. The writing side ([`Lender`], one per channel direction) lends the region under a
//!    number of the channel's (at most [`MAX_REGIONS`]) and sends only
//!    `Lent { region, len }`; the first time the peer sees a region under a number, its
//!    descriptor rides along. The same region lent again through the same channel gets
//!    its old number, so the peer maps each region once.
//! 2. The reading side ([`Borrowings`]) keeps its mapping of every number, so a payload
//!    is read in place; the [`Borrowed`] bytes say `Release { region }` back when
//!    dropped, once decoded.
//! 3. A released region goes back to the store, to be written again. When every number
//!    is lent, a payload is copied into a one-off region of its size (`Payload::Shared`),
//!    so nothing waits for a release.
//!
//! A channel's peer keeps at most [`MAX_MAPPED`] bytes of regions mapped: a region that
//! would take it past that crosses as a one-off too. Regions lent when a channel ends
//! (its process gone) are not written again: they are dropped with the lender.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aplex_core::registry::spare_buffers;
use ipc_channel::ipc::IpcSharedMemory;
use serde_bytes::ByteBuf;

use crate::protocol::payload::Payload;
use crate::protocol::store::{Region, RegionStore, MAX_RETAINED, STORE};

/// The most region numbers one channel direction uses.
pub(crate) const MAX_REGIONS: usize = 16;

/// The most bytes of regions one channel's peer keeps mapped (those under the channel's
/// numbers); a region that would take it past this crosses in a one-off region.
pub(crate) const MAX_MAPPED: usize = MAX_RETAINED;

/// What a channel knows of the region under one of its numbers.
struct Entry {
    /// The region's id in the store.
    id: u64,
    /// Its size, which the peer keeps mapped.
    capacity: usize,
    /// The region while lent to the peer (nobody may write it then).
    lent: Option<Box<Region>>,
    /// The peer has this region's descriptor under this number.
    known: bool,
}

/// The writing side's region numbers of one channel.
pub(crate) struct Lender {
    /// Payloads above this many bytes are lent (at most `payload::shared_threshold()`).
    threshold: usize,
    store: &'static RegionStore,
    /// The most bytes of regions the peer keeps mapped ([`MAX_MAPPED`]).
    max_mapped: usize,
    entries: Mutex<Vec<Entry>>,
}

impl Lender {
    /// A lender of no regions yet, for payloads above `threshold` bytes, from the
    /// process's store.
    pub(crate) fn new(threshold: usize) -> Arc<Lender> {
        Self::with_store(threshold, &STORE)
    }

    /// A lender taking its regions from `store`.
    pub(crate) fn with_store(threshold: usize, store: &'static RegionStore) -> Arc<Lender> {
        Arc::new(Lender {
            threshold,
            store,
            max_mapped: MAX_MAPPED,
            entries: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lends `payload` if it is in a region of the store, or above the threshold: the
    /// form in which it crosses.
    pub(crate) fn lend(&self, payload: &mut Payload) {
        let big = match payload {
            Payload::Large(_) | Payload::Stored { .. } => true,
            Payload::Inline(bytes) => bytes.len() > self.threshold,
            _ => false,
        };
        if !big {
            return;
        }
        let mut entries = self.lock();
        *payload = match std::mem::replace(payload, Payload::Inline(Default::default())) {
            Payload::Stored { region, len } => self.lend_region(&mut entries, region, len),
            Payload::Large(bytes) => self.lend_bytes(&mut entries, bytes),
            Payload::Inline(bytes) => self.lend_bytes(&mut entries, bytes.into_byte_buf()),
            _ => unreachable!("checked above"),
        };
    }

    /// Lends a region holding a copy of `bytes` (a one-off region when every number is
    /// lent).
    fn lend_bytes(&self, entries: &mut Vec<Entry>, bytes: ByteBuf) -> Payload {
        let all_lent =
            entries.len() == MAX_REGIONS && entries.iter().all(|entry| entry.lent.is_some());
        let lent = if all_lent {
            Payload::Shared(IpcSharedMemory::from_bytes(&bytes))
        } else {
            let mut region = self.store.take_region(bytes.len());
            region.bytes_mut()[..bytes.len()].copy_from_slice(&bytes);
            self.lend_region(entries, region, bytes.len())
        };
        spare_buffers::give_back(bytes.into_vec());
        lent
    }

    /// `Lent` under the region's number in this channel (a new one if it has none); when
    /// no number can take it, a one-off region of the payload's size, and this region
    /// back to the store.
    fn lend_region(&self, entries: &mut Vec<Entry>, region: Box<Region>, len: usize) -> Payload {
        let known_as = entries.iter().position(|entry| entry.id == region.id());
        let Some(index) = known_as.or_else(|| number_for(entries, &region, self.max_mapped)) else {
            let one_off = IpcSharedMemory::from_bytes(&region.bytes()[..len]);
            self.store.give_back(region);
            return Payload::Shared(one_off);
        };
        let entry = &mut entries[index];
        let map = (!entry.known).then(|| region.map().clone());
        entry.known = true;
        entry.lent = Some(region);
        Payload::Lent {
            region: index as u32,
            len: len as u64,
            map,
        }
    }

    /// Undoes [`lend`](Self::lend) for a payload that was never sent (its writer was
    /// gone): its region back in the payload, so the frame can go to another process (a
    /// replacement knows none of this channel's numbers).
    pub(crate) fn take_back(&self, payload: &mut Payload) {
        let Payload::Lent { region, len, map } = payload else {
            return;
        };
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(*region as usize) else {
            return;
        };
        let Some(held) = entry.lent.take() else {
            // Cannot be: a `Lent` frame not sent holds its number's region. Left as it is.
            debug_assert!(false, "a payload taken back whose region is not lent");
            return;
        };
        if map.is_some() {
            // Its descriptor was to ride along with this payload: the peer never got it.
            entry.known = false;
        }
        let len = usize::try_from(*len)
            .unwrap_or(usize::MAX)
            .min(held.bytes().len());
        *payload = Payload::Stored { region: held, len };
    }

    /// The peer has read region `region`: it goes back to the store.
    pub(crate) fn release(&self, region: u32) {
        let released = self
            .lock()
            .get_mut(region as usize)
            .and_then(|entry| entry.lent.take());
        if let Some(released) = released {
            self.store.give_back(released);
        }
    }
}

/// A number for `region`, new to the channel: a new number, or — replacing what the peer
/// maps under it — the biggest number whose region is not lent; in either case only if
/// the peer then keeps no more than `max_mapped` bytes mapped.
fn number_for(entries: &mut Vec<Entry>, region: &Region, max_mapped: usize) -> Option<usize> {
    let capacity = region.bytes().len();
    let mapped: usize = entries.iter().map(|entry| entry.capacity).sum();
    let fresh = Entry {
        id: region.id(),
        capacity,
        lent: None,
        known: false,
    };
    if entries.len() < MAX_REGIONS && mapped + capacity <= max_mapped {
        entries.push(fresh);
        return Some(entries.len() - 1);
    }
    let (index, _) = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            entry.lent.is_none() && mapped - entry.capacity + capacity <= max_mapped
        })
        .max_by_key(|(_, entry)| entry.capacity)?;
    entries[index] = fresh;
    Some(index)
}

/// Says a borrowed region is read: sends `Release { region }` to its owner.
pub(crate) type Releaser = Arc<dyn Fn(u32) + Send + Sync>;

/// The reading side's mappings of the peer's regions.
pub(crate) struct Borrowings {
    maps: Mutex<Vec<Option<Arc<IpcSharedMemory>>>>,
    release: Releaser,
}

impl Borrowings {
    /// No region known yet; `release` tells the peer a region is read.
    pub(crate) fn new(release: Releaser) -> Self {
        Borrowings {
            maps: Mutex::new(Vec::new()),
            release,
        }
    }

    /// A received payload in the form its reader uses: `Lent` becomes the bytes borrowed
    /// in place. An error names what was wrong (a region never sent, a length beyond it).
    pub(crate) fn take(&self, payload: Payload) -> Result<Payload, String> {
        let Payload::Lent { region, len, map } = payload else {
            return Ok(payload);
        };
        let index = region as usize;
        if index >= MAX_REGIONS {
            return Err(format!("shared region {region} is beyond the last one"));
        }
        let mut maps = self.maps.lock().unwrap_or_else(PoisonError::into_inner);
        if maps.len() <= index {
            maps.resize(index + 1, None);
        }
        if let Some(map) = map {
            maps[index] = Some(Arc::new(map));
        }
        let map = maps[index]
            .clone()
            .ok_or_else(|| format!("shared region {region} was never sent"))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > map.len() {
            // Released at once: its owner may use it again.
            (self.release)(region);
            return Err(format!(
                "{len} bytes were said to be in shared region {region} of {} bytes",
                map.len()
            ));
        }
        Ok(Payload::Borrowed(Borrowed {
            map,
            len,
            release: Some((region, Arc::clone(&self.release))),
        }))
    }
}

/// Bytes read in place from the peer's region; released to the peer when dropped.
pub(crate) struct Borrowed {
    map: Arc<IpcSharedMemory>,
    len: usize,
    release: Option<(u32, Releaser)>,
}

impl Borrowed {
    /// The payload's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        if let Some((region, release)) = self.release.take() {
            release(region);
        }
    }
}

impl fmt::Debug for Borrowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Borrowed")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A frame whose payload may be lent before it is sent.
pub(crate) trait Lends {
    /// The frame's payload, if it carries one that may be lent.
    fn payload_mut(&mut self) -> Option<&mut Payload>;

    /// Lends this frame's payload, if it is big, from `lender`.
    fn lend(&mut self, lender: &Lender) {
        if let Some(payload) = self.payload_mut() {
            lender.lend(payload);
        }
    }

    /// Takes back a payload lent from `lender` that never left (see
    /// [`Lender::take_back`]).
    fn take_back(&mut self, lender: &Lender) {
        if let Some(payload) = self.payload_mut() {
            lender.take_back(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_bytes::ByteBuf;

    use super::*;

    /// A lender with a store of its own (tests run side by side in one process).
    fn test_lender(threshold: usize) -> Arc<Lender> {
        Lender::with_store(threshold, Box::leak(Box::new(RegionStore::new())))
    }

    fn lent(lender: &Lender, bytes: &[u8]) -> Payload {
        let mut payload = Payload::Large(ByteBuf::from(bytes.to_vec()));
        lender.lend(&mut payload);
        payload
    }

    fn region_of(payload: &Payload) -> (u32, bool) {
        match payload {
            Payload::Lent { region, map, .. } => (*region, map.is_some()),
            other => panic!("expected a lent payload, got {other:?}"),
        }
    }

    #[test]
    fn a_region_is_sent_once_and_reused_only_once_released() {
        let lender = test_lender(1024);
        let first = lent(&lender, &[1; 4000]);
        assert_eq!(
            region_of(&first),
            (0, true),
            "the first use carries the region"
        );
        // Still lent: the next payload gets another region.
        let second = lent(&lender, &[2; 4000]);
        assert_eq!(region_of(&second), (1, true));
        lender.release(0);
        let third = lent(&lender, &[3; 3000]);
        assert_eq!(
            region_of(&third),
            (0, false),
            "reused, and the peer has it already"
        );
        // Small payloads stay inline.
        let mut small = Payload::new(ByteBuf::from(vec![4; 1024]));
        lender.lend(&mut small);
        assert!(matches!(small, Payload::Inline(_)));
    }

    #[test]
    fn when_every_region_is_lent_a_payload_goes_in_a_region_of_its_own() {
        let lender = test_lender(0);
        for _ in 0..MAX_REGIONS {
            assert!(matches!(lent(&lender, &[5; 100]), Payload::Lent { .. }));
        }
        let one_off = lent(&lender, &[6; 100]);
        assert!(
            matches!(&one_off, Payload::Shared(region) if **region == [6; 100]),
            "a one-off region holds the payload, exactly"
        );
        // A region too small for a payload is replaced once free, under the same number.
        lender.release(3);
        let bigger = lent(&lender, &[7; 5000]);
        assert_eq!(region_of(&bigger), (3, true));
    }

    #[test]
    fn the_reader_reads_in_place_and_releases_once_when_done() {
        let released = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&released);
        let borrowings = Borrowings::new(Arc::new(move |region| {
            assert_eq!(region, 0);
            count.fetch_add(1, Ordering::SeqCst);
        }));
        let lender = test_lender(10);
        let bytes: Vec<u8> = (0..=255).collect();
        let payload = borrowings.take(lent(&lender, &bytes)).unwrap();
        assert_eq!(&*payload, &bytes[..]);
        // A copy owns its bytes; only the original releases the region.
        let copy = payload.clone();
        drop(payload);
        assert_eq!(released.load(Ordering::SeqCst), 1);
        drop(copy);
        assert_eq!(released.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_bad_lent_payload_is_refused_not_read() {
        let borrowings = Borrowings::new(Arc::new(|_| {}));
        let unknown = Payload::Lent {
            region: 2,
            len: 10,
            map: None,
        };
        assert!(borrowings.take(unknown).unwrap_err().contains("never sent"));
        let beyond = Payload::Lent {
            region: MAX_REGIONS as u32,
            len: 10,
            map: None,
        };
        assert!(borrowings.take(beyond).unwrap_err().contains("beyond"));
        let too_long = Payload::Lent {
            region: 0,
            len: 1000,
            map: Some(IpcSharedMemory::from_byte(1, 100)),
        };
        assert!(borrowings
            .take(too_long)
            .unwrap_err()
            .contains("1000 bytes"));
    }

    #[test]
    fn a_region_taken_back_keeps_its_bytes_and_crosses_another_channel_with_its_descriptor() {
        let store: &'static RegionStore = Box::leak(Box::new(RegionStore::new()));
        let (first, second) = (Lender::with_store(0, store), Lender::with_store(0, store));
        let bytes: Vec<u8> = (0..5000).map(|i| i as u8).collect();
        let mut payload = lent(&first, &bytes);
        assert_eq!(region_of(&payload), (0, true));
        first.take_back(&mut payload);
        assert!(matches!(&payload, Payload::Stored { .. }));
        assert_eq!(&*payload, &bytes[..], "its bytes, still in the region");
        second.lend(&mut payload);
        assert_eq!(region_of(&payload), (0, true), "new to this channel");
        // Back through the first channel: it never got the descriptor, so it rides again.
        second.take_back(&mut payload);
        first.lend(&mut payload);
        assert_eq!(region_of(&payload), (0, true));
    }

    #[test]
    fn a_released_region_is_written_again_only_once_back_in_the_store() {
        let store: &'static RegionStore = Box::leak(Box::new(RegionStore::new()));
        let lender = Lender::with_store(0, store);
        let payload = lent(&lender, &[1; 3000]);
        assert_eq!(store.kept().0, 0, "lent: not in the store");
        drop(payload);
        lender.release(0);
        assert_eq!(store.kept().0, 1, "released: back in the store");
        lender.release(0);
        assert_eq!(
            store.kept().0,
            1,
            "a second release of it gives nothing back"
        );
    }

    /// The peer never keeps more than the bound mapped: a region that would take it past
    /// replaces a free one, or crosses as a one-off of its payload's size.
    #[test]
    fn the_peer_keeps_no_more_than_the_bound_of_regions_mapped() {
        let store: &'static RegionStore = Box::leak(Box::new(RegionStore::new()));
        let mut lender = Lender {
            threshold: 0,
            store,
            max_mapped: 3 * 8192,
            entries: Mutex::new(Vec::new()),
        };
        let first = lent(&lender, &[1; 8192]);
        let second = lent(&lender, &[2; 8192]);
        assert_eq!(
            (region_of(&first), region_of(&second)),
            ((0, true), (1, true))
        );
        // 16 KiB more would map 32 KiB: with both numbers lent, a one-off.
        let over = lent(&lender, &[3; 16384]);
        assert!(matches!(&over, Payload::Shared(region) if **region == [3; 16384]));
        // Once the first is free, the big one replaces it under its number.
        lender.release(0);
        let replacing = lent(&lender, &[4; 16384]);
        assert_eq!(region_of(&replacing), (0, true));
        lender.max_mapped = 0;
        lender.release(1);
        let none_fits = lent(&lender, &[5; 100]);
        assert!(matches!(&none_fits, Payload::Shared(region) if **region == [5; 100]));
    }
}
