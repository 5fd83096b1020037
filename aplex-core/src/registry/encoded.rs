//! Where an encoding is written: a `Vec`, or — once it grows past a backend's threshold —
//! storage the backend lends ([`ExternalStore`]), so that a big payload is written once,
//! straight where it crosses. The process pool lends shared-memory regions: before, a big
//! encoding was written into a `Vec` and then copied into a region, a second pass over
//! every byte of an image or an array (docs/PERFORMANCE.md).
//!
//! `EncodeBuffer` starts as a `Vec` (small encodings, nearly all, never leave it). The
//! write that takes it past the store's threshold moves what is written so far (a few
//! bytes: a header, the small items before) to storage of at least the new length plus
//! some room for what usually follows; storage that fills up is traded for bigger storage
//! (copied over, as a `Vec` grows), and if the store has none to give the encoding goes
//! on in a `Vec`. The result is an [`Encoded`].

use std::any::Any;
use std::fmt;
use std::sync::OnceLock;

use serde_bytes::ByteBuf;

use crate::registry::spare_buffers::{grow, take_small};

/// Storage a backend lends to encodings that grow big.
pub trait ExternalStore: Send + Sync {
    /// Encodings that grow past this many bytes move to the store.
    fn threshold(&self) -> usize;

    /// Writable storage of at least `len` bytes, or `None` when the store has none to
    /// give (the encoding then stays in a `Vec`).
    fn take(&self, len: usize) -> Option<Box<dyn ExternalBytes>>;

    /// Takes back storage an encoding outgrew, for a later one.
    fn give_back(&self, storage: Box<dyn ExternalBytes>);
}

/// Storage lent by an [`ExternalStore`], written by the one encoding that holds it.
pub trait ExternalBytes: Send {
    /// All its bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];

    /// All its bytes.
    fn bytes(&self) -> &[u8];

    /// Itself, for the backend to see its own type.
    fn as_any(&self) -> &dyn Any;

    /// Itself, for the backend to take back as its own type.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Encoded bytes: in a `Vec`, or in `len` bytes of external storage.
pub enum Encoded {
    /// In memory of its own.
    Bytes(ByteBuf),
    /// In the first `len` bytes of storage lent by an [`ExternalStore`].
    External {
        /// The storage.
        storage: Box<dyn ExternalBytes>,
        /// How many of its bytes are the encoding.
        len: usize,
    },
}

impl Encoded {
    /// The encoded bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Encoded::Bytes(bytes) => bytes,
            Encoded::External { storage, len } => &storage.bytes()[..*len],
        }
    }

    /// The encoded bytes in a `Vec` (copied out of external storage).
    pub fn into_byte_buf(self) -> ByteBuf {
        match self {
            Encoded::Bytes(bytes) => bytes,
            Encoded::External { storage, len } => ByteBuf::from(&storage.bytes()[..len]),
        }
    }

    /// How many bytes are encoded.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// Whether no bytes are encoded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one byte (to a `Vec`, if external storage has no room left for it).
    pub fn push(&mut self, byte: u8) {
        match self {
            Encoded::Bytes(bytes) => bytes.push(byte),
            Encoded::External { storage, len } if *len < storage.bytes().len() => {
                storage.bytes_mut()[*len] = byte;
                *len += 1;
            }
            Encoded::External { storage, len } => {
                let mut bytes = Vec::with_capacity(*len + 1);
                bytes.extend_from_slice(&storage.bytes()[..*len]);
                bytes.push(byte);
                *self = Encoded::Bytes(ByteBuf::from(bytes));
            }
        }
    }
}

/// The store of this process's big encodings of outcomes, once installed.
static INSTALLED: OnceLock<&'static dyn ExternalStore> = OnceLock::new();

/// Makes `store` where this process encodes big outcomes (`outcomes::encode_outcomes`):
/// a process pool's worker process installs its shared-memory regions at start. The
/// first store installed stays; returns whether `store` is it.
pub fn install_store(store: &'static dyn ExternalStore) -> bool {
    INSTALLED.set(store).is_ok()
}

/// The store installed by [`install_store`], if any.
pub fn installed_store() -> Option<&'static dyn ExternalStore> {
    INSTALLED.get().copied()
}

impl std::ops::Deref for Encoded {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<ByteBuf> for Encoded {
    fn from(bytes: ByteBuf) -> Self {
        Encoded::Bytes(bytes)
    }
}

impl fmt::Debug for Encoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match self {
            Encoded::Bytes(_) => "Bytes",
            Encoded::External { .. } => "External",
        };
        f.debug_struct("Encoded")
            .field("in", &place)
            .field("len", &self.len())
            .finish()
    }
}

/// Room asked for beyond the write that moves an encoding to the store: what usually
/// follows a big value (the table of item ends, a mode byte, small fields after it).
fn room_after(len: usize) -> usize {
    4096 + len / 64
}

/// An encoding in progress (see the module docs).
pub(crate) struct EncodeBuffer<'s> {
    vec: Vec<u8>,
    /// External storage, once the encoding moved there, and how much of it is written.
    external: Option<(Box<dyn ExternalBytes>, usize)>,
    store: Option<&'s dyn ExternalStore>,
    /// The store's threshold (no store: never reached).
    threshold: usize,
}

impl<'s> EncodeBuffer<'s> {
    /// An empty buffer of at least `capacity` bytes in a `Vec` (this thread's small spare
    /// if it has one, `spare_buffers::take_small`), moving to `store` if it grows big.
    pub(crate) fn new(capacity: usize, store: Option<&'s dyn ExternalStore>) -> Self {
        EncodeBuffer {
            vec: take_small(capacity),
            external: None,
            store,
            threshold: store.map_or(usize::MAX, |store| store.threshold()),
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        match &self.external {
            Some((_, len)) => *len,
            None => self.vec.len(),
        }
    }

    /// The bytes written so far, writable.
    pub(crate) fn written_mut(&mut self) -> &mut [u8] {
        match &mut self.external {
            Some((storage, len)) => &mut storage.bytes_mut()[..*len],
            None => &mut self.vec,
        }
    }

    /// Forgets what was written after the first `len` bytes.
    pub(crate) fn truncate(&mut self, len: usize) {
        match &mut self.external {
            Some((_, written)) => *written = (*written).min(len),
            None => self.vec.truncate(len),
        }
    }

    /// Appends `bytes`. Inlined where the encoder is (it writes a few bytes at a time):
    /// a small encoding only ever takes the first branch.
    #[inline]
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        if self.external.is_none()
            && self.vec.len() + bytes.len() <= self.threshold
            && self.vec.capacity() - self.vec.len() >= bytes.len()
        {
            self.vec.extend_from_slice(bytes);
            return;
        }
        self.extend_slow(bytes);
    }

    /// [`extend`](Self::extend) past the `Vec`'s room or the threshold, or in external
    /// storage.
    #[inline(never)]
    fn extend_slow(&mut self, bytes: &[u8]) {
        let needed = self.len() + bytes.len();
        if let Some((storage, written)) = &mut self.external {
            if needed <= storage.bytes().len() {
                storage.bytes_mut()[*written..needed].copy_from_slice(bytes);
                *written = needed;
                return;
            }
        }
        if needed > self.threshold && self.move_to_store(needed) {
            if let Some((storage, written)) = &mut self.external {
                storage.bytes_mut()[*written..needed].copy_from_slice(bytes);
                *written = needed;
            }
            return;
        }
        if self.vec.capacity() - self.vec.len() < bytes.len() {
            grow(&mut self.vec, bytes.len());
        }
        self.vec.extend_from_slice(bytes);
    }

    /// Moves the encoding to storage of at least `needed` bytes (and some room after);
    /// returns whether it did. Without storage to give, it goes back to (or stays in)
    /// the `Vec`, and asks the store no more.
    fn move_to_store(&mut self, needed: usize) -> bool {
        let Some(store) = self.store else {
            return false;
        };
        let written = self.len();
        let mut wanted = needed.saturating_add(room_after(needed));
        if let Some((old, _)) = &self.external {
            // Outgrown: at least twice as big, so a value written piece by piece is
            // copied a bounded number of times, as in a `Vec`.
            wanted = wanted.max(old.bytes().len().saturating_mul(2));
        }
        let taken = store
            .take(wanted)
            .filter(|storage| storage.bytes().len() >= needed);
        let Some(mut storage) = taken else {
            if let Some((old, len)) = self.external.take() {
                self.vec.clear();
                grow(&mut self.vec, wanted);
                self.vec.extend_from_slice(&old.bytes()[..len]);
                store.give_back(old);
            }
            self.store = None;
            self.threshold = usize::MAX;
            return false;
        };
        match self.external.take() {
            Some((old, len)) => {
                storage.bytes_mut()[..len].copy_from_slice(&old.bytes()[..len]);
                store.give_back(old);
            }
            None => {
                storage.bytes_mut()[..written].copy_from_slice(&self.vec);
                self.vec = Vec::new();
            }
        }
        self.external = Some((storage, written));
        true
    }

    /// Makes room for `more` bytes ahead of writing them: a `Vec` grows once, external
    /// storage without the room moves to bigger storage.
    pub(crate) fn reserve(&mut self, more: usize) {
        let needed = self.len() + more;
        match &self.external {
            None => grow(&mut self.vec, more),
            Some((storage, _)) if needed > storage.bytes().len() => {
                self.move_to_store(needed);
            }
            Some(_) => {}
        }
    }

    /// The finished encoding.
    pub(crate) fn finish(self) -> Encoded {
        match self.external {
            Some((storage, len)) => Encoded::External { storage, len },
            None => Encoded::Bytes(ByteBuf::from(self.vec)),
        }
    }
}

impl std::io::Write for EncodeBuffer<'_> {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_bytes::ByteBuf;

    use super::{Encoded, ExternalBytes, ExternalStore};
    use crate::registry::framed::{encode_each, encode_each_to};

    /// Storage in a `Vec` of its own.
    struct Plain(Vec<u8>);

    impl ExternalBytes for Plain {
        fn bytes_mut(&mut self) -> &mut [u8] {
            &mut self.0
        }
        fn bytes(&self) -> &[u8] {
            &self.0
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
            self
        }
    }

    /// A store lending exactly what is asked, `left` times; counts what comes back.
    struct Store {
        left: AtomicUsize,
        given_back: AtomicUsize,
    }

    impl Store {
        fn new(left: usize) -> Store {
            Store {
                left: AtomicUsize::new(left),
                given_back: AtomicUsize::new(0),
            }
        }
    }

    impl ExternalStore for Store {
        fn threshold(&self) -> usize {
            1000
        }
        fn take(&self, len: usize) -> Option<Box<dyn ExternalBytes>> {
            let left = self.left.load(Ordering::SeqCst);
            (left > 0).then(|| {
                self.left.store(left - 1, Ordering::SeqCst);
                Box::new(Plain(vec![0; len])) as Box<dyn ExternalBytes>
            })
        }
        fn give_back(&self, _storage: Box<dyn ExternalBytes>) {
            self.given_back.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn is_external(encoded: &Encoded) -> bool {
        matches!(encoded, Encoded::External { .. })
    }

    #[test]
    fn a_small_encoding_stays_in_a_vec_and_a_big_one_moves_to_the_store() {
        let store = Store::new(1);
        let small = encode_each_to([7u64, 8], "w", "arguments", Some(&store)).0;
        assert!(!is_external(&small));
        assert_eq!(&*small, &encode_each([7u64, 8], "w", "arguments").0[..]);
        let big = ByteBuf::from(vec![3u8; 5000]);
        let moved = encode_each_to([&big], "w", "arguments", Some(&store)).0;
        assert!(is_external(&moved));
        assert_eq!(&*moved, &encode_each([&big], "w", "arguments").0[..]);
    }

    /// A value written in many small pieces outgrows its first storage, moves to bigger
    /// storage (the first given back), and encodes the same.
    #[test]
    fn an_encoding_that_outgrows_its_storage_moves_and_loses_nothing() {
        let store = Store::new(20);
        let many: Vec<u64> = (0..100_000).map(|i| i * 1_000_003).collect();
        let encoded = encode_each_to([&many], "w", "arguments", Some(&store)).0;
        assert!(is_external(&encoded));
        assert_eq!(&*encoded, &encode_each([&many], "w", "arguments").0[..]);
        let moves = 20 - store.left.load(Ordering::SeqCst);
        // ~900 KB from ~5 KB, at least doubling each time: a bounded number of moves.
        assert!((2..=10).contains(&moves), "{moves} moves");
        assert_eq!(store.given_back.load(Ordering::SeqCst), moves - 1);
    }

    /// A store with nothing to give leaves the encoding in (or takes it back to) a `Vec`.
    #[test]
    fn without_storage_to_give_an_encoding_goes_on_in_a_vec() {
        let many: Vec<u64> = (0..100_000).map(|i| i * 7).collect();
        let expected = encode_each([&many], "w", "arguments").0;
        for left in [0, 1] {
            let store = Store::new(left);
            let encoded = encode_each_to([&many], "w", "arguments", Some(&store)).0;
            assert!(!is_external(&encoded), "{left} storage to give");
            assert_eq!(&*encoded, &expected[..]);
        }
    }

    #[test]
    fn a_byte_pushed_goes_after_the_encoding_wherever_it_is() {
        let mut in_vec = Encoded::from(ByteBuf::from(vec![1, 2]));
        in_vec.push(3);
        assert_eq!(&*in_vec, [1, 2, 3]);
        let mut roomy = Encoded::External {
            storage: Box::new(Plain(vec![9; 4])),
            len: 2,
        };
        roomy.push(3);
        assert!(is_external(&roomy));
        assert_eq!(&*roomy, [9, 9, 3]);
        let mut full = Encoded::External {
            storage: Box::new(Plain(vec![9; 2])),
            len: 2,
        };
        full.push(3);
        assert_eq!(&*full, [9, 9, 3]);
        assert_eq!(full.into_byte_buf().into_vec(), [9, 9, 3]);
    }
}
