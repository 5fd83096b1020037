//! The process's store of shared-memory regions: where big encodings are written
//! straight away (core's `ExternalStore`, `encoded.rs`), and where a region comes back
//! once its peer has read it, for the next big payload.
//!
//! A fresh region per payload costs more than the copy it saves (the kernel creates,
//! zeroes, maps and tears down its pages every time), so regions are kept: at most
//! [`MAX_FREE`] free ones and [`MAX_RETAINED`] bytes of them, the biggest first. A region
//! belongs to one holder at a time — the store, an encoding, a payload, or a channel's
//! `Lender` while the peer reads it (`regions.rs`) — and only its holder writes it.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use aplex_core::registry::encoded::{ExternalBytes, ExternalStore};
use aplex_core::registry::kept_by_size::{KeptBySize, Size};
use ipc_channel::ipc::IpcSharedMemory;

use crate::protocol::payload::shared_threshold;

/// The most free regions kept.
pub(crate) const MAX_FREE: usize = 16;

/// The most bytes of free regions kept (a region beyond it is not kept at all).
pub(crate) const MAX_RETAINED: usize = 256 << 20;

/// The most regions alive in this process (kept, lent, or holding a payload not sent
/// yet) for an encoding to be given one: each holds a file descriptor, and a queue of
/// thousands of big submits must not run the process out of them (past this, encodings
/// stay in a `Vec`, copied into a region as they leave).
pub(crate) const MAX_LIVE_FOR_ENCODING: usize = 64;

/// How many regions are alive in this process.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A shared-memory region this process made, numbered uniquely in it.
pub(crate) struct Region {
    id: u64,
    map: IpcSharedMemory,
}

impl Region {
    /// A new zeroed region of `capacity` bytes.
    fn new(capacity: usize) -> Region {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        LIVE.fetch_add(1, Ordering::Relaxed);
        Region {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            map: IpcSharedMemory::from_byte(0, capacity),
        }
    }

    /// Its number, the same for as long as it lives.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Its mapping, to send its descriptor.
    pub(crate) fn map(&self) -> &IpcSharedMemory {
        &self.map
    }

    /// Its bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Its bytes, writable.
    #[allow(unsafe_code)]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `deref_mut` is sound while nobody else reads or writes the mapping. A
        // `Region` has one holder at a time (it is moved, never cloned), and `&mut self`
        // is that holder's; the clones of its mapping sent to the peer are dropped once
        // serialised, and the peer reads the region only while a `Lender` holds it (from
        // the `Lent` naming it until the `Release` it sends back), when nobody writes it.
        unsafe { self.map.deref_mut() }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("id", &self.id)
            .field("len", &self.map.len())
            .finish()
    }
}

impl Size for Region {
    fn size(&self) -> usize {
        self.map.len()
    }
}

impl ExternalBytes for Region {
    fn bytes_mut(&mut self) -> &mut [u8] {
        Region::bytes_mut(self)
    }

    fn bytes(&self) -> &[u8] {
        Region::bytes(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// The free regions of this process (`KeptBySize`: the smallest fitting one is handed
/// out, never one 4 × too big). Boxed: a region moves between the store, an encoding (as
/// `Box<dyn ExternalBytes>`), a payload and a lender without being moved in memory or
/// boxed again.
pub(crate) struct RegionStore {
    free: Mutex<KeptBySize<Box<Region>>>,
}

/// The process's store.
pub(crate) static STORE: RegionStore = RegionStore::new();

impl RegionStore {
    /// A store of no regions yet (the process has [`STORE`]; tests make their own).
    pub(crate) const fn new() -> RegionStore {
        RegionStore {
            free: Mutex::new(KeptBySize::new(MAX_FREE, MAX_RETAINED)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, KeptBySize<Box<Region>>> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A region of at least `len` bytes: the smallest kept one that fits, or a new one
    /// with room for payloads up to an eighth bigger.
    pub(crate) fn take_region(&self, len: usize) -> Box<Region> {
        self.take_kept(len).unwrap_or_else(|| {
            let step = (len.next_power_of_two() / 8).max(4096);
            Box::new(Region::new(len.div_ceil(step).saturating_mul(step)))
        })
    }

    /// The smallest kept region that fits `len` bytes without waste, if any.
    fn take_kept(&self, len: usize) -> Option<Box<Region>> {
        self.lock().take(len)
    }

    /// Keeps `region` for a later payload, if there is room.
    pub(crate) fn give_back(&self, region: Box<Region>) {
        self.lock().give_back(region);
    }

    /// How many regions are kept, and their bytes (for tests).
    #[cfg(test)]
    pub(crate) fn kept(&self) -> (usize, usize) {
        let free = self.lock();
        (free.len(), free.bytes())
    }
}

impl ExternalStore for RegionStore {
    fn threshold(&self) -> usize {
        shared_threshold()
    }

    fn take(&self, len: usize) -> Option<Box<dyn ExternalBytes>> {
        if LIVE.load(Ordering::Relaxed) >= MAX_LIVE_FOR_ENCODING {
            // No new region: a kept one, or the encoding stays in a `Vec`.
            return self
                .take_kept(len)
                .map(|region| region as Box<dyn ExternalBytes>);
        }
        Some(self.take_region(len))
    }

    fn give_back(&self, storage: Box<dyn ExternalBytes>) {
        if let Ok(region) = storage.into_any().downcast::<Region>() {
            RegionStore::give_back(self, region);
        }
    }
}

/// The region an encoding was written into, if it is one of this process's (storage
/// lent by another store is handed back as it was).
pub(crate) fn stored(
    storage: Box<dyn ExternalBytes>,
) -> Result<Box<Region>, Box<dyn ExternalBytes>> {
    if !storage.as_any().is::<Region>() {
        return Err(storage);
    }
    match storage.into_any().downcast::<Region>() {
        Ok(region) => Ok(region),
        Err(_) => unreachable!("checked to be a Region"),
    }
}

#[cfg(test)]
mod tests {
    use aplex_core::registry::encoded::ExternalStore;
    use aplex_core::registry::framed::{decode_all, encode_each_to};
    use serde_bytes::ByteBuf;

    use super::{stored, RegionStore, MAX_FREE, MAX_RETAINED};

    #[test]
    fn a_region_is_handed_out_again_only_to_a_payload_it_fits_without_waste() {
        let store = RegionStore::new();
        let region = store.take_region(100_000);
        let (id, capacity) = (region.id(), region.bytes().len());
        assert!(capacity >= 100_000);
        store.give_back(region);
        assert_ne!(store.take_region(capacity + 1).id(), id, "too small");
        assert_ne!(store.take_region(capacity / 8).id(), id, "far too big");
        assert_eq!(store.take_region(capacity / 2).id(), id, "fits");
    }

    #[test]
    fn the_store_keeps_its_biggest_regions_within_its_bounds() {
        let store = RegionStore::new();
        let regions: Vec<_> = (1..=MAX_FREE + 2)
            .map(|step| store.take_region(step * 8192))
            .collect();
        for region in regions {
            store.give_back(region);
        }
        let (count, _) = store.kept();
        assert_eq!(count, MAX_FREE);
        assert!(
            store.take_region(8192).bytes().len() >= 3 * 8192,
            "the two smallest went first: an 8 KiB payload gets a region of 24 KiB"
        );
        store.give_back(store.take_region(MAX_RETAINED + 1));
        assert!(
            store.kept().1 <= MAX_RETAINED,
            "a region over the bound is not kept"
        );
    }

    /// A big value is encoded straight into a region, and decodes as it would from a
    /// `Vec`.
    #[test]
    fn a_big_encoding_is_written_into_a_region_of_the_store() {
        let store: &'static RegionStore = Box::leak(Box::new(RegionStore::new()));
        let big = ByteBuf::from(
            (0..store.threshold() * 3)
                .map(|i| i as u8)
                .collect::<Vec<_>>(),
        );
        let (encoded, failed) = encode_each_to([&big], "w", "arguments", Some(store));
        assert!(failed.is_empty());
        let aplex_core::registry::encoded::Encoded::External { storage, len } = encoded else {
            panic!("a big encoding stays in a Vec");
        };
        let Ok(region) = stored(storage) else {
            panic!("not a region of this store");
        };
        let decoded: Option<Vec<ByteBuf>> =
            decode_all(&region.bytes()[..len], "w", "arguments").unwrap();
        assert_eq!(decoded, Some(vec![big]));
    }
}
