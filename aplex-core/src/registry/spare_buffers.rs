//! Big encoding buffers kept for the next big payload, so encoding one does not pay the
//! kernel for fresh pages every time.
//!
//! An allocation above glibc's mmap threshold (128 KiB at first, at most 32 MiB) is a
//! fresh mapping, zeroed page by page on first touch and unmapped when freed: for a
//! 1 MiB payload that costs more than encoding it. A backend that is done with an
//! encoded buffer — the process pool once it has copied it into shared memory — gives it
//! back here; [`grow`] hands it to the next encoding that outgrows [`SPARE_MIN`]. At most
//! [`MAX_SPARES`] buffers and [`MAX_SPARE_BYTES`] are kept, the biggest first; a buffer
//! bigger than that bound is not kept (keeping it would evict every other), and an
//! encoding takes no buffer more than [`MAX_OVERSIZE`] times its need (a small payload
//! would pin a huge buffer wherever its bytes are kept).

use std::sync::{Mutex, PoisonError};

/// Buffers smaller than this are left to the allocator.
pub const SPARE_MIN: usize = 64 * 1024;

/// The most buffers kept.
pub const MAX_SPARES: usize = 4;

/// The most bytes of buffers kept.
pub const MAX_SPARE_BYTES: usize = 256 << 20;

/// The most times its need a kept buffer handed to an encoding may be.
pub const MAX_OVERSIZE: usize = 4;

static SPARES: Mutex<Spares> = Mutex::new(Spares(Vec::new()));

/// The kept buffers.
struct Spares(Vec<Vec<u8>>);

impl Spares {
    fn give_back(&mut self, mut buffer: Vec<u8>) {
        if !(SPARE_MIN..=MAX_SPARE_BYTES).contains(&buffer.capacity()) {
            return;
        }
        buffer.clear();
        let spares = &mut self.0;
        spares.push(buffer);
        // Over a bound, the smallest go first: the big ones save the most.
        while spares.len() > MAX_SPARES
            || spares.iter().map(Vec::capacity).sum::<usize>() > MAX_SPARE_BYTES
        {
            let smallest = (0..spares.len())
                .min_by_key(|&index| spares[index].capacity())
                .unwrap_or(0);
            spares.swap_remove(smallest);
        }
    }

    /// The smallest kept buffer of at least `capacity` bytes and at most
    /// [`MAX_OVERSIZE`] times that.
    fn take(&mut self, capacity: usize) -> Option<Vec<u8>> {
        let most = capacity.saturating_mul(MAX_OVERSIZE);
        let (index, _) = self
            .0
            .iter()
            .enumerate()
            .filter(|(_, spare)| (capacity..=most).contains(&spare.capacity()))
            .min_by_key(|(_, spare)| spare.capacity())?;
        Some(self.0.swap_remove(index))
    }
}

fn spares() -> std::sync::MutexGuard<'static, Spares> {
    SPARES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps `buffer` for a later encoding, if it is big and there is room.
///
/// # Examples
///
/// ```
/// use aplex_core::registry::spare_buffers::{give_back, grow};
///
/// give_back(vec![0u8; 1 << 20]);
/// let mut bytes = vec![1, 2, 3];
/// grow(&mut bytes, 1 << 20);
/// assert!(bytes.capacity() >= 3 + (1 << 20));
/// assert_eq!(bytes, [1, 2, 3]);
/// ```
pub fn give_back(buffer: Vec<u8>) {
    // Most buffers are small: they are turned away without the lock.
    if buffer.capacity() < SPARE_MIN {
        return;
    }
    spares().give_back(buffer);
}

/// Makes room in `bytes` for `more` bytes; past [`SPARE_MIN`], in a kept buffer when one
/// is big enough and not [`MAX_OVERSIZE`] times bigger (the bytes so far copied over).
pub fn grow(bytes: &mut Vec<u8>, more: usize) {
    let needed = bytes.len() + more;
    if needed <= bytes.capacity() {
        return;
    }
    if needed >= SPARE_MIN {
        if let Some(mut spare) = spares().take(needed) {
            spare.extend_from_slice(bytes);
            *bytes = spare;
            return;
        }
    }
    // As `Vec` grows: at least double, so a value written piece by piece stays linear.
    bytes.reserve(more.max(bytes.capacity()));
}

#[cfg(test)]
mod tests {
    use super::{Spares, MAX_SPARES, MAX_SPARE_BYTES, SPARE_MIN};

    fn capacities(spares: &Spares) -> Vec<usize> {
        let mut capacities: Vec<usize> = spares.0.iter().map(Vec::capacity).collect();
        capacities.sort_unstable();
        capacities
    }

    #[test]
    fn a_buffer_over_the_bound_is_dropped_and_evicts_nothing() {
        let mut spares = Spares(Vec::new());
        spares.give_back(Vec::with_capacity(SPARE_MIN));
        spares.give_back(Vec::with_capacity(1 << 20));
        spares.give_back(Vec::with_capacity(MAX_SPARE_BYTES + 1));
        assert_eq!(capacities(&spares), [SPARE_MIN, 1 << 20]);
    }

    #[test]
    fn the_biggest_are_kept_within_the_count() {
        let mut spares = Spares(Vec::new());
        for shift in 0..=MAX_SPARES {
            spares.give_back(Vec::with_capacity(SPARE_MIN << shift));
        }
        let kept = capacities(&spares);
        assert_eq!(kept.len(), MAX_SPARES);
        assert_eq!(kept[0], SPARE_MIN << 1, "the smallest went first");
    }

    #[test]
    fn an_encoding_takes_the_smallest_fit_but_never_a_buffer_far_bigger_than_its_need() {
        let mut spares = Spares(Vec::new());
        spares.give_back(Vec::with_capacity(64 << 20));
        spares.give_back(Vec::with_capacity(2 << 20));
        assert_eq!(spares.take(1 << 20).map(|b| b.capacity()), Some(2 << 20));
        assert_eq!(spares.take(1 << 20), None, "64 MiB is too big for 1 MiB");
        assert_eq!(spares.take(20 << 20).map(|b| b.capacity()), Some(64 << 20));
        assert_eq!(spares.take(SPARE_MIN), None);
    }
}
