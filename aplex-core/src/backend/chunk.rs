//! `Chunk`: the items of one map chunk, in order, as a map hands them to a backend.
//!
//! A chunk of one item (every map of chunksize 1, the default) holds it inline: the map's
//! thread makes the chunk and a worker consumes it, so a `Vec` per item would be an
//! allocation freed on another thread, once per work. A map pulls its input through
//! `ChunkSource`, one dynamic call per chunk rather than one per item.

use std::fmt;

/// The items of one map chunk, in order.
///
/// # Examples
///
/// ```
/// use aplex::backend::Chunk;
///
/// let chunk = Chunk::from(vec![1, 2, 3]);
/// assert_eq!(chunk.len(), 3);
/// assert_eq!(chunk.as_slice(), [1, 2, 3]);
/// assert_eq!(Chunk::One(7).into_iter().collect::<Vec<_>>(), [7]);
/// ```
pub enum Chunk<A> {
    /// A chunk of one item.
    One(A),
    /// A chunk of any number of items.
    Many(Vec<A>),
}

impl<A> Chunk<A> {
    /// How many items there are.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aplex::backend::Chunk::One('a').len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether there are no items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(aplex::backend::Chunk::<u8>::Many(Vec::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, as a slice.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(aplex::backend::Chunk::One(5).as_slice(), [5]);
    /// ```
    pub fn as_slice(&self) -> &[A] {
        match self {
            Chunk::One(item) => std::slice::from_ref(item),
            Chunk::Many(items) => items,
        }
    }
}

impl<A> From<Vec<A>> for Chunk<A> {
    fn from(items: Vec<A>) -> Self {
        Chunk::Many(items)
    }
}

impl<A> IntoIterator for Chunk<A> {
    type Item = A;
    type IntoIter = IntoIter<A>;

    fn into_iter(self) -> IntoIter<A> {
        IntoIter(match self {
            Chunk::One(item) => Items::One(Some(item)),
            Chunk::Many(items) => Items::Many(items.into_iter()),
        })
    }
}

impl<A: fmt::Debug> fmt::Debug for Chunk<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The iterator over a chunk's items, in order.
///
/// # Examples
///
/// ```
/// let mut items = aplex::backend::Chunk::One(1).into_iter();
/// assert_eq!((items.next(), items.next()), (Some(1), None));
/// ```
pub struct IntoIter<A>(Items<A>);

enum Items<A> {
    One(Option<A>),
    Many(std::vec::IntoIter<A>),
}

impl<A> Iterator for IntoIter<A> {
    type Item = A;

    #[inline]
    fn next(&mut self) -> Option<A> {
        match &mut self.0 {
            Items::One(item) => item.take(),
            Items::Many(items) => items.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match &self.0 {
            Items::One(item) => usize::from(item.is_some()),
            Items::Many(items) => items.len(),
        };
        (left, Some(left))
    }
}

impl<A> ExactSizeIterator for IntoIter<A> {}

impl<A> fmt::Debug for IntoIter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("left", &self.len())
            .finish()
    }
}

/// An input that hands out its items a chunk at a time: the map keeps its input as a
/// `dyn ChunkSource`, so a chunk costs one dynamic call, with the iterator's own `next`
/// inlined in the loop that fills it.
pub(crate) trait ChunkSource<A> {
    /// The next chunk of at most `size` items (`size` ≥ 1), or `None` when the input is
    /// exhausted.
    fn next_chunk(&mut self, size: usize) -> Option<Chunk<A>>;

    /// The input's own estimate of the items left (as `Iterator::size_hint`).
    #[cfg(feature = "progress")]
    fn items_left_hint(&self) -> (usize, Option<usize>);
}

impl<A, I: Iterator<Item = A>> ChunkSource<A> for I {
    fn next_chunk(&mut self, size: usize) -> Option<Chunk<A>> {
        if size == 1 {
            return self.next().map(Chunk::One);
        }
        let items: Vec<A> = self.by_ref().take(size).collect();
        (!items.is_empty()).then_some(Chunk::Many(items))
    }

    #[cfg(feature = "progress")]
    fn items_left_hint(&self) -> (usize, Option<usize>) {
        self.size_hint()
    }
}
