//! Big encoding buffers kept for the next big payload, so encoding one does not pay the
//! kernel for fresh pages every time.
//!
//! An allocation above glibc's mmap threshold (128 KiB at first, at most 32 MiB) is a
//! fresh mapping, zeroed page by page on first touch and unmapped when freed: for a
//! 1 MiB payload that costs more than encoding it. A backend that is done with an
//! encoded buffer — the process pool once it has copied it into shared memory — gives it
//! back here; [`grow`] hands it to the next encoding that outgrows [`SPARE_MIN`]. At most
//! [`MAX_SPARES`] buffers and [`MAX_SPARE_BYTES`] are kept, the biggest first.

use std::sync::{Mutex, PoisonError};

/// Buffers smaller than this are left to the allocator.
pub const SPARE_MIN: usize = 64 * 1024;

/// The most buffers kept.
pub const MAX_SPARES: usize = 4;

/// The most bytes of buffers kept.
pub const MAX_SPARE_BYTES: usize = 256 << 20;

static SPARES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

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
pub fn give_back(mut buffer: Vec<u8>) {
    if buffer.capacity() < SPARE_MIN {
        return;
    }
    buffer.clear();
    let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
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

/// Makes room in `bytes` for `more` bytes; past [`SPARE_MIN`], in a kept buffer when one
/// is big enough (the bytes so far copied over).
pub fn grow(bytes: &mut Vec<u8>, more: usize) {
    let needed = bytes.len() + more;
    if needed <= bytes.capacity() {
        return;
    }
    if needed >= SPARE_MIN {
        if let Some(mut spare) = take(needed) {
            spare.extend_from_slice(bytes);
            *bytes = spare;
            return;
        }
    }
    // As `Vec` grows: at least double, so a value written piece by piece stays linear.
    bytes.reserve(more.max(bytes.capacity()));
}

/// The smallest kept buffer of at least `capacity` bytes.
fn take(capacity: usize) -> Option<Vec<u8>> {
    let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
    let (index, _) = spares
        .iter()
        .enumerate()
        .filter(|(_, spare)| spare.capacity() >= capacity)
        .min_by_key(|(_, spare)| spare.capacity())?;
    Some(spares.swap_remove(index))
}

/// A `Write` into a `Vec` that grows through [`grow`].
pub(crate) struct SpareWriter<'a>(pub(crate) &'a mut Vec<u8>);

impl std::io::Write for SpareWriter<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.capacity() - self.0.len() < buf.len() {
            grow(self.0, buf.len());
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
