//! [`EncodedPromise`]: a promise completed from its worker's encoded reply, whose output
//! type is erased — the work's own cell, seen as a trait object, so it costs no allocation
//! (or, for the rare completions a cell cannot do alone, a closure).
//!
//! A process pool keeps, for every work in flight, what completes its future when the reply
//! comes. A boxed closure holding the typed promise was an allocation per work, made by the
//! submitting thread and freed by the thread reading replies (in glibc, past that thread's
//! cache of seven, a free takes the submitting thread's arena lock). The cell the promise
//! points to can decode the reply itself: it knows its output's type.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::DeserializeOwned;

use crate::backend::chunk_results::ChunkResults;
use crate::cell::WorkCell;
use crate::future::WorkPromise;
use crate::registry::outcomes::{decode_chunk, decode_one};
use crate::Error;

/// A cell that decodes an encoded outcome into its own output type.
trait DecodeInto: Send + Sync {
    /// Decodes `outcome` (a lone work's, or a chunk's of `expected` items) and resolves
    /// the cell with it; false if the cell already had an outcome.
    fn decode_into(&self, outcome: Result<&[u8], Error>, name: &str, expected: usize) -> bool;

    /// Resolves the cell with `error`; false if it already had an outcome.
    fn fail(&self, error: Error) -> bool;
}

impl<T: DeserializeOwned + Send> DecodeInto for WorkCell<T> {
    fn decode_into(&self, outcome: Result<&[u8], Error>, name: &str, _expected: usize) -> bool {
        self.resolve(outcome.and_then(|bytes| decode_one(bytes, name)))
    }

    fn fail(&self, error: Error) -> bool {
        self.resolve(Err(error))
    }
}

impl<T: DeserializeOwned + Send> DecodeInto for WorkCell<ChunkResults<T>> {
    fn decode_into(&self, outcome: Result<&[u8], Error>, name: &str, expected: usize) -> bool {
        let decoded = outcome.and_then(|bytes| decode_chunk(bytes, name, expected, Vec::new()));
        self.resolve(decoded)
    }

    fn fail(&self, error: Error) -> bool {
        self.resolve(Err(error))
    }
}

/// A completion that is a closure, run once (the rare completions no cell does alone: a
/// work that may be retried, a chunk with items to put back).
struct ByClosure<F>(Mutex<Option<F>>);

impl<F> ByClosure<F> {
    fn take(&self) -> Option<F> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl<F> DecodeInto for ByClosure<F>
where
    F: FnOnce(Result<&[u8], Error>) + Send,
{
    fn decode_into(&self, outcome: Result<&[u8], Error>, _name: &str, _expected: usize) -> bool {
        self.take().map(|complete| complete(outcome)).is_some()
    }

    fn fail(&self, error: Error) -> bool {
        self.take().map(|complete| complete(Err(error))).is_some()
    }
}

/// A [`WorkPromise`] whose output is decoded from an encoded outcome (what a worker
/// process or node replies), its type erased. Dropped without an outcome, its future
/// resolves `Cancelled`, as a dropped promise's does.
///
/// # Examples
///
/// ```
/// use aplex_core::backend::ChunkResults;
/// use aplex_core::registry::encoded_promise::EncodedPromise;
/// use aplex_core::registry::outcomes::encode_outcomes;
///
/// let (promise, future) = aplex_core::backend::future_pair::<u64>(true);
/// let promise = EncodedPromise::one(promise);
/// let reply = encode_outcomes(ChunkResults::one(Ok(42u64)), "answer").unwrap();
/// assert!(promise.complete(Ok(&reply), "answer", 1));
/// assert_eq!(future.result(), Ok(42));
/// ```
pub struct EncodedPromise(Option<Arc<dyn DecodeInto>>);

impl EncodedPromise {
    /// The promise of a lone work, whose reply is one encoded outcome.
    pub fn one<T: DeserializeOwned + Send + 'static>(promise: WorkPromise<T>) -> Self {
        EncodedPromise(promise.into_cell().map(|cell| cell as Arc<dyn DecodeInto>))
    }

    /// The promise of a map chunk, whose reply is the encoded outcomes of its items (as
    /// many as were sent; a chunk with items that could not be encoded needs them put
    /// back, which this does not do).
    pub fn chunk<T: DeserializeOwned + Send + 'static>(
        promise: WorkPromise<ChunkResults<T>>,
    ) -> Self {
        EncodedPromise(promise.into_cell().map(|cell| cell as Arc<dyn DecodeInto>))
    }

    /// A completion by `complete`, which is given the reply's outcome (or `Cancelled`, if
    /// this is dropped unused) and decodes it itself.
    pub fn by_closure<F>(complete: F) -> Self
    where
        F: FnOnce(Result<&[u8], Error>) + Send + 'static,
    {
        EncodedPromise(Some(Arc::new(ByClosure(Mutex::new(Some(complete))))))
    }

    /// Resolves the future with the reply `outcome` of the work called `name`, decoded
    /// (a chunk's, of `expected` items); false if it already had an outcome.
    pub fn complete(mut self, outcome: Result<&[u8], Error>, name: &str, expected: usize) -> bool {
        match self.0.take() {
            Some(cell) => cell.decode_into(outcome, name, expected),
            None => false,
        }
    }
}

impl Drop for EncodedPromise {
    fn drop(&mut self) {
        if let Some(cell) = self.0.take() {
            cell.fail(Error::Cancelled);
        }
    }
}

impl fmt::Debug for EncodedPromise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodedPromise")
            .field("completed", &self.0.is_none())
            .finish()
    }
}
