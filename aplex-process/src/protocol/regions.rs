//! Shared-memory regions reused between one parent and one child: how big payloads
//! cross at the speed of memory.
//!
//! A fresh `IpcSharedMemory` per payload costs more than the copy it saves: the kernel
//! creates, zeroes, maps and tears down its pages every time (docs/PERFORMANCE.md). So
//! each side of a channel keeps a few regions of its own and lends them:
//!
//! 1. The writing side ([`Lender`], one per channel direction and process) copies a big
//!    payload into a free region it owns and sends only `Lent { region, len }`; the first
//!    time the peer sees a region (or a region replaced by a bigger one), its descriptor
//!    rides along.
//! 2. The reading side ([`Borrowings`]) keeps its mapping of every region by number, so a
//!    payload is read in place; the [`Borrowed`] bytes say `Release { region }` back when
//!    dropped, once decoded.
//! 3. Only a released region is written again. When every region is lent, or keeping
//!    another would hold more than [`MAX_RETAINED`] bytes, a payload travels in a
//!    one-off region as before (`Payload::Shared`), so nothing waits for a release.
//!
//! A process's regions live as long as it does: a new process starts with none.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aplex_core::registry::spare_buffers;
use ipc_channel::ipc::IpcSharedMemory;
use serde_bytes::ByteBuf;

use crate::protocol::payload::Payload;

/// The most regions one side of one channel keeps.
pub(crate) const MAX_REGIONS: usize = 16;

/// The most bytes of regions one side of one channel keeps (a payload beyond it travels
/// in a one-off region).
pub(crate) const MAX_RETAINED: usize = 256 << 20;

/// A region this side owns.
struct Owned {
    map: IpcSharedMemory,
    /// Lent to the peer and not released yet: nobody may write it.
    lent: bool,
    /// The peer has this region's descriptor.
    known: bool,
}

/// The writing side's regions of one channel.
pub(crate) struct Lender {
    /// Payloads above this many bytes are lent (at most `payload::shared_threshold()`).
    threshold: usize,
    regions: Mutex<Vec<Owned>>,
}

impl Lender {
    /// A lender of no regions yet, for payloads above `threshold` bytes.
    pub(crate) fn new(threshold: usize) -> Arc<Lender> {
        Arc::new(Lender {
            threshold,
            regions: Mutex::new(Vec::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Owned>> {
        self.regions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts `payload` in a region of ours if it is above the threshold: the form in which
    /// it crosses.
    pub(crate) fn lend(&self, payload: &mut Payload) {
        let big = match payload {
            Payload::Large(_) => true,
            Payload::Inline(bytes) => bytes.len() > self.threshold,
            _ => false,
        };
        if !big {
            return;
        }
        let bytes = match std::mem::replace(payload, Payload::Inline(Default::default())) {
            Payload::Large(bytes) | Payload::Inline(bytes) => bytes,
            _ => unreachable!("checked above"),
        };
        *payload = self.lend_bytes(&bytes);
        spare_buffers::give_back(bytes.into_vec());
    }

    fn lend_bytes(&self, bytes: &[u8]) -> Payload {
        let mut regions = self.lock();
        let Some(index) = pick(&mut regions, bytes.len()) else {
            return Payload::Shared(IpcSharedMemory::from_bytes(bytes));
        };
        let region = &mut regions[index];
        write(&mut region.map, bytes);
        region.lent = true;
        let map = (!region.known).then(|| region.map.clone());
        region.known = true;
        Payload::Lent {
            region: index as u32,
            len: bytes.len() as u64,
            map,
        }
    }

    /// Undoes [`lend`](Self::lend) for a payload that was never sent (its writer was
    /// gone): its bytes again, the region free, so the frame can go to another process
    /// (a replacement has regions of its own and knows nothing of this one's).
    pub(crate) fn take_back(&self, payload: &mut Payload) {
        let Payload::Lent { region, len, map } = payload else {
            return;
        };
        let mut regions = self.lock();
        let Some(owned) = regions.get_mut(*region as usize) else {
            return;
        };
        let len = usize::try_from(*len)
            .unwrap_or(usize::MAX)
            .min(owned.map.len());
        let bytes = ByteBuf::from(owned.map[..len].to_vec());
        owned.lent = false;
        if map.is_some() {
            // Its descriptor was to ride along with this payload: the peer never got it.
            owned.known = false;
        }
        *payload = if len > self.threshold {
            Payload::Large(bytes)
        } else {
            Payload::Inline(bytes)
        };
    }

    /// The peer has read region `region`: it may be written again.
    pub(crate) fn release(&self, region: u32) {
        if let Some(owned) = self.lock().get_mut(region as usize) {
            owned.lent = false;
        }
    }
}

/// The free region that fits `len` bytes best, or a new one (in a new place, or in place
/// of a free one too small); `None` if that would keep too many regions or bytes.
fn pick(regions: &mut Vec<Owned>, len: usize) -> Option<usize> {
    let fitting = regions
        .iter()
        .enumerate()
        .filter(|(_, owned)| !owned.lent && owned.map.len() >= len)
        .min_by_key(|(_, owned)| owned.map.len());
    if let Some((index, _)) = fitting {
        return Some(index);
    }
    // Room for payloads up to an eighth bigger, without keeping twice the memory.
    let step = (len.next_power_of_two() / 8).max(4096);
    let capacity = len.div_ceil(step) * step;
    let retained: usize = regions.iter().map(|owned| owned.map.len()).sum();
    let fresh = || Owned {
        map: IpcSharedMemory::from_byte(0, capacity),
        lent: false,
        known: false,
    };
    if regions.len() < MAX_REGIONS && retained + capacity <= MAX_RETAINED {
        regions.push(fresh());
        return Some(regions.len() - 1);
    }
    // Replace the biggest free region that, replaced, keeps us within bounds.
    let (index, _) = regions
        .iter()
        .enumerate()
        .filter(|(_, owned)| !owned.lent && retained - owned.map.len() + capacity <= MAX_RETAINED)
        .max_by_key(|(_, owned)| owned.map.len())?;
    regions[index] = fresh();
    Some(index)
}

/// Copies `bytes` to the start of `map`, which this process owns and has not lent.
#[allow(unsafe_code)]
fn write(map: &mut IpcSharedMemory, bytes: &[u8]) {
    // SAFETY: `deref_mut` is sound while nobody else reads or writes the mapping. In
    // this process the `Lender` holds the only `IpcSharedMemory` of the region (the
    // clones it sends are dropped once serialised) and writes under its lock; the peer
    // reads the region only between a `Lent` naming it and the `Release` it sends back,
    // and a region is written only when not lent.
    let target = unsafe { map.deref_mut() };
    target[..bytes.len()].copy_from_slice(bytes);
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
        let lender = Lender::new(1024);
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
        let mut small = Payload::Inline(ByteBuf::from(vec![4; 1024]));
        lender.lend(&mut small);
        assert!(matches!(small, Payload::Inline(_)));
    }

    #[test]
    fn when_every_region_is_lent_a_payload_goes_in_a_region_of_its_own() {
        let lender = Lender::new(0);
        for _ in 0..MAX_REGIONS {
            assert!(matches!(lent(&lender, &[5; 100]), Payload::Lent { .. }));
        }
        let one_off = lent(&lender, &[6; 100]);
        assert!(matches!(&one_off, Payload::Shared(region) if region.len() == 100));
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
        let lender = Lender::new(10);
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
}
