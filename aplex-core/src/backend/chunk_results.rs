//! `ChunkResults`: the results of one map chunk, one per item, in the chunk's order.
//!
//! A chunk of one item (every map of chunksize 1, the default) holds its result inline.
//! Its results are made on a worker and dropped by the thread reading the map; a `Vec`
//! per item would be an allocation on one thread freed on another, which is the most
//! expensive pattern for the allocator, once per work. A chunk whose items all succeeded
//! may hold just the outputs (a process worker's reply decodes straight into them),
//! without an [`Error`]-sized slot per item. Both forms are a [`Chunk`]: of outputs, or
//! of results.

use std::fmt;

use crate::backend::chunk::{self, Chunk};
use crate::Error;

/// One result per item of a chunk, in the chunk's order.
///
/// # Examples
///
/// ```
/// use aplex::backend::ChunkResults;
/// use aplex::Error;
///
/// let chunk: ChunkResults<u8> = vec![Ok(1), Err(Error::Cancelled)].into();
/// assert_eq!(chunk.len(), 2);
/// let single = ChunkResults::one(Ok(7));
/// assert_eq!(single.into_iter().collect::<Vec<_>>(), [Ok(7)]);
/// ```
pub struct ChunkResults<T>(Results<T>);

enum Results<T> {
    /// Every item succeeded: just the outputs.
    Outputs(Chunk<T>),
    /// One result per item.
    Results(Chunk<Result<T, Error>>),
}

impl<T> ChunkResults<T> {
    /// How many items there are if every one succeeded (held as plain outputs).
    pub(crate) fn all_ok_len(&self) -> Option<usize> {
        match &self.0 {
            Results::Outputs(outputs) => Some(outputs.len()),
            Results::Results(_) => None,
        }
    }

    /// Calls `each` once per item with its error (`None` for an item that succeeded).
    pub(crate) fn each_error(&self, mut each: impl FnMut(Option<&Error>)) {
        match &self.0 {
            Results::Outputs(outputs) => (0..outputs.len()).for_each(|_| each(None)),
            Results::Results(results) => results
                .as_slice()
                .iter()
                .for_each(|result| each(result.as_ref().err())),
        }
    }

    /// The results of a chunk of one item.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::ChunkResults;
    ///
    /// assert_eq!(ChunkResults::one(Ok::<u8, _>(1)).len(), 1);
    /// ```
    pub fn one(result: Result<T, Error>) -> Self {
        ChunkResults(match result {
            Ok(output) => Results::Outputs(Chunk::One(output)),
            Err(error) => Results::Results(Chunk::One(Err(error))),
        })
    }

    /// The results of a chunk whose every item succeeded with these outputs.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::ChunkResults;
    ///
    /// let chunk = ChunkResults::all_ok(vec![1, 2]);
    /// assert_eq!(chunk.into_iter().collect::<Vec<_>>(), [Ok(1), Ok(2)]);
    /// ```
    pub fn all_ok(outputs: Vec<T>) -> Self {
        ChunkResults(Results::Outputs(Chunk::Many(outputs)))
    }

    /// Just the outputs, when every item succeeded; otherwise the results, unchanged.
    ///
    /// # Errors
    ///
    /// Gives `self` back when some item failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::ChunkResults;
    /// use aplex::Error;
    ///
    /// let fine: ChunkResults<u8> = vec![Ok(1), Ok(2)].into();
    /// assert_eq!(fine.into_all_ok().unwrap(), [1, 2]);
    /// let failed: ChunkResults<u8> = vec![Ok(1), Err(Error::Cancelled)].into();
    /// assert_eq!(failed.into_all_ok().unwrap_err().len(), 2);
    /// ```
    pub fn into_all_ok(self) -> Result<Vec<T>, Self> {
        self.into_all_ok_chunk().map(|outputs| match outputs {
            Chunk::Many(outputs) => outputs,
            Chunk::One(output) => vec![output],
        })
    }

    /// Just the outputs, when every item succeeded, as the chunk they are (one output
    /// stays one, no `Vec` made for it); otherwise the results, unchanged.
    pub(crate) fn into_all_ok_chunk(self) -> Result<Chunk<T>, Self> {
        match self.0 {
            Results::Outputs(outputs) => Ok(outputs),
            Results::Results(results) if results.as_slice().iter().all(Result::is_ok) => {
                Ok(Chunk::Many(results.into_iter().flatten().collect()))
            }
            results => Err(ChunkResults(results)),
        }
    }

    /// The outputs, if they were made as [`ChunkResults::all_ok`] or as one `Ok`;
    /// otherwise the results, unchanged. Unlike [`into_all_ok`](Self::into_all_ok), this
    /// never copies.
    pub(crate) fn into_outputs(self) -> Result<Chunk<T>, Self> {
        match self.0 {
            Results::Outputs(outputs) => Ok(outputs),
            results => Err(ChunkResults(results)),
        }
    }

    /// How many results there are.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::ChunkResults;
    ///
    /// let chunk: ChunkResults<u8> = vec![Ok(1), Ok(2)].into();
    /// assert_eq!(chunk.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match &self.0 {
            Results::Outputs(outputs) => outputs.len(),
            Results::Results(results) => results.len(),
        }
    }

    /// Whether there are no results.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::backend::ChunkResults;
    ///
    /// assert!(ChunkResults::<u8>::from(Vec::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> From<Vec<Result<T, Error>>> for ChunkResults<T> {
    fn from(results: Vec<Result<T, Error>>) -> Self {
        ChunkResults(Results::Results(Chunk::Many(results)))
    }
}

impl<T> FromIterator<Result<T, Error>> for ChunkResults<T> {
    /// Collects the results; a single one is kept inline (its `Vec` is freed here, on the
    /// thread that made it).
    fn from_iter<I: IntoIterator<Item = Result<T, Error>>>(results: I) -> Self {
        let mut results: Vec<_> = results.into_iter().collect();
        if results.len() == 1 {
            if let Some(only) = results.pop() {
                return ChunkResults::one(only);
            }
        }
        ChunkResults(Results::Results(Chunk::Many(results)))
    }
}

impl<T> IntoIterator for ChunkResults<T> {
    type Item = Result<T, Error>;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter(match self.0 {
            Results::Outputs(outputs) => Iter::Outputs(outputs.into_iter()),
            Results::Results(results) => Iter::Results(results.into_iter()),
        })
    }
}

impl<T: fmt::Debug> fmt::Debug for ChunkResults<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Results::Outputs(outputs) => f
                .debug_list()
                .entries(outputs.as_slice().iter().map(Ok::<_, &Error>))
                .finish(),
            Results::Results(results) => f.debug_list().entries(results.as_slice()).finish(),
        }
    }
}

/// The iterator over a chunk's results, in order.
///
/// # Examples
///
/// ```
/// use aplex::backend::ChunkResults;
///
/// let mut results = ChunkResults::one(Ok::<u8, _>(3)).into_iter();
/// assert_eq!(results.next(), Some(Ok(3)));
/// assert_eq!(results.next(), None);
/// ```
pub struct IntoIter<T>(Iter<T>);

enum Iter<T> {
    Outputs(chunk::IntoIter<T>),
    Results(chunk::IntoIter<Result<T, Error>>),
}

impl<T> IntoIter<T> {
    /// An iterator with nothing left.
    pub(crate) fn empty() -> Self {
        IntoIter(Iter::Results(Chunk::Many(Vec::new()).into_iter()))
    }
}

impl<T> Iterator for IntoIter<T> {
    type Item = Result<T, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Iter::Outputs(outputs) => outputs.next().map(Ok),
            Iter::Results(results) => results.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match &self.0 {
            Iter::Outputs(outputs) => outputs.len(),
            Iter::Results(results) => results.len(),
        };
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for IntoIter<T> {}

impl<T> fmt::Debug for IntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoIter")
            .field("left", &self.len())
            .finish()
    }
}
