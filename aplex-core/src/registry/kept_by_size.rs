//! `KeptBySize`: a few big things (buffers, shared-memory regions) kept for reuse, so the
//! next big payload does not pay the kernel for fresh pages. Bounded in count and bytes:
//! over a bound the smallest go first (the big ones save the most), a thing bigger than
//! the byte bound is not kept at all (keeping it would evict every other), and a thing
//! is handed out only to a need it fits without waste (never [`MAX_OVERSIZE`] times
//! bigger: a small payload would pin a huge buffer wherever its bytes are kept).
//!
//! Used by [`spare_buffers`](super::spare_buffers) and by the process pool's region store.

/// The most times its need a kept thing handed out may be.
pub const MAX_OVERSIZE: usize = 4;

/// What a kept thing's size is.
pub trait Size {
    /// Its size in bytes.
    fn size(&self) -> usize;
}

impl Size for Vec<u8> {
    fn size(&self) -> usize {
        self.capacity()
    }
}

impl<T: Size + ?Sized> Size for Box<T> {
    fn size(&self) -> usize {
        (**self).size()
    }
}

/// Things kept for reuse, at most `max_count` of them and `max_bytes` in all.
///
/// # Examples
///
/// ```
/// use aplex_core::registry::kept_by_size::KeptBySize;
///
/// let mut kept = KeptBySize::new(2, 1 << 20);
/// kept.give_back(Vec::<u8>::with_capacity(4096));
/// assert!(kept.take(8192).is_none(), "too small");
/// assert!(kept.take(100).is_none(), "far too big for 100 bytes");
/// assert_eq!(kept.take(2000).map(|buffer| buffer.capacity()), Some(4096));
/// ```
#[derive(Debug)]
pub struct KeptBySize<T> {
    items: Vec<T>,
    max_count: usize,
    max_bytes: usize,
}

impl<T: Size> KeptBySize<T> {
    /// Nothing kept yet.
    pub const fn new(max_count: usize, max_bytes: usize) -> Self {
        KeptBySize {
            items: Vec::new(),
            max_count,
            max_bytes,
        }
    }

    /// Keeps `item` if there is room for it; over a bound, the smallest go first.
    pub fn give_back(&mut self, item: T) {
        if item.size() > self.max_bytes {
            return;
        }
        self.items.push(item);
        while self.items.len() > self.max_count || self.bytes() > self.max_bytes {
            let smallest = (0..self.items.len())
                .min_by_key(|&index| self.items[index].size())
                .unwrap_or(0);
            self.items.swap_remove(smallest);
        }
    }

    /// The smallest kept thing of at least `need` bytes and at most [`MAX_OVERSIZE`]
    /// times that, if any.
    pub fn take(&mut self, need: usize) -> Option<T> {
        let most = need.saturating_mul(MAX_OVERSIZE);
        let (index, _) = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, item)| (need..=most).contains(&item.size()))
            .min_by_key(|(_, item)| item.size())?;
        Some(self.items.swap_remove(index))
    }

    /// How many things are kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The bytes kept.
    pub fn bytes(&self) -> usize {
        self.items.iter().map(Size::size).sum()
    }

    /// The sizes kept, smallest first.
    pub fn sizes(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = self.items.iter().map(Size::size).collect();
        sizes.sort_unstable();
        sizes
    }
}

#[cfg(test)]
mod tests {
    use super::KeptBySize;

    fn buffer(capacity: usize) -> Vec<u8> {
        Vec::with_capacity(capacity)
    }

    #[test]
    fn a_thing_over_the_byte_bound_is_dropped_and_evicts_nothing() {
        let mut kept = KeptBySize::new(4, 2 << 20);
        kept.give_back(buffer(4096));
        kept.give_back(buffer(1 << 20));
        kept.give_back(buffer((2 << 20) + 1));
        assert_eq!(kept.sizes(), [4096, 1 << 20]);
    }

    #[test]
    fn the_biggest_are_kept_within_the_count_and_the_bytes() {
        let mut kept = KeptBySize::new(3, 100_000);
        for size in [1000, 2000, 3000, 4000] {
            kept.give_back(buffer(size));
        }
        assert_eq!(kept.sizes(), [2000, 3000, 4000], "the smallest went first");
        kept.give_back(buffer(95_000));
        assert_eq!(
            kept.sizes(),
            [4000, 95_000],
            "over the bytes, the smallest went"
        );
        assert_eq!(kept.bytes(), 99_000);
    }

    #[test]
    fn a_need_takes_the_smallest_fit_but_never_a_thing_far_bigger() {
        let mut kept = KeptBySize::new(4, 1 << 30);
        kept.give_back(buffer(64 << 20));
        kept.give_back(buffer(2 << 20));
        assert_eq!(kept.take(1 << 20).map(|b| b.capacity()), Some(2 << 20));
        assert_eq!(kept.take(1 << 20), None, "64 MiB is too big for 1 MiB");
        assert_eq!(kept.take(20 << 20).map(|b| b.capacity()), Some(64 << 20));
        assert!(kept.is_empty());
    }
}
