//! The registry of works a worker in another process or on another machine can run,
//! filled at link time by `#[aplex::work]`, and the codec its values travel in; shared by
//! the process and remote backends (feature `registry`).
//!
//! Python pickles a function by its qualified name; here a work is found by the name the
//! compiler gives its function item (`std::any::type_name`), which submitter and worker —
//! the same executable — compute alike. Each entry holds a monomorphic trampoline that decodes
//! the arguments, runs the work and encodes its output (or, for a maker of worker state
//! registered by `#[aplex::worker_state]`, makes that state). Entries are sorted by name, so a
//! work can travel as its index, and a handshake can compare a digest of the names.
//!
//! - [`answer`]: where an async trampoline sends its outcome;
//! - [`encoded_promise`]: a promise completed from an encoded reply;
//! - [`framed`]: a chunk of values, each encoded on its own (MessagePack), into
//!   [`encoded`] bytes;
//! - [`outcomes`]: a chunk's outcomes; [`wire_error`]: the errors among them;
//! - [`probe`]: a type's own serialization error message;
//! - [`inline_bytes`]: a few encoded bytes kept inline.

pub mod answer;
mod chunk_run;
pub mod encoded;
pub mod encoded_promise;
pub mod framed;
pub mod inline_bytes;
pub mod kept_by_size;
pub mod outcomes;
pub mod probe;
pub mod spare_buffers;
pub mod wire_error;

use std::any::type_name;
use std::cell::Cell;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::backend::WorkerStateValue;
use crate::{Error, WorkKind};
use futures::future::{BoxFuture, LocalBoxFuture};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::local::catch_blocking;
use crate::registry::answer::Answer;
use crate::registry::chunk_run::{answered, Decoded};
use crate::registry::encoded::Encoded;
use crate::registry::inline_bytes::InlineBytes;

use crate::registry::framed::{decode_split, merge_failures};
use crate::registry::outcomes::encode_outcomes;

/// Runs an async work over an encoded chunk of arguments, and sends the encoded outcomes
/// to its [`Answer`] when the run ends.
pub type AsyncTrampoline = fn(Args, Answer) -> AsyncRun;

/// What an async trampoline gives: the future of a chunk's run, which sends its answer
/// as its last step; `Send` when the work's future is (then a multi-thread worker runtime
/// runs it on its scheduler). Dropped before the end, its answer goes unanswered.
pub enum AsyncRun {
    /// The work's future is not `Send`: it stays on the worker's thread.
    Local(LocalBoxFuture<'static, ()>),
    /// The work's future is `Send`.
    Send(BoxFuture<'static, ()>),
}

impl std::fmt::Debug for AsyncRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AsyncRun::Local(_) => "AsyncRun::Local",
            AsyncRun::Send(_) => "AsyncRun::Send",
        })
    }
}

/// Where `#[aplex::work]` learns whether an async work's future is `Send`: the function
/// item's concrete type is known there, so method resolution picks [`RunSend`] when the
/// future is `Send` and falls back to [`RunLocal`] (through one more reference) when it
/// is not.
pub struct Probe<F, A>(F, PhantomData<fn(A)>);

impl<F, A> std::fmt::Debug for Probe<F, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Probe")
    }
}

impl<F, A> Probe<F, A> {
    /// Probes `work`, whose argument is of type `A`.
    pub fn new(work: F) -> Self {
        Probe(work, PhantomData)
    }
}

/// Runs a work whose future is `Send` (chosen first by `#[aplex::work]`).
pub trait RunSend {
    /// The chunk's run, `Send`, answered by `answer`.
    fn run(&self, name: &'static str, args: Args, answer: Answer) -> AsyncRun;
}

impl<F, A, Fut> RunSend for Probe<F, A>
where
    F: Fn(A) -> Fut + Copy + Send + 'static,
    A: DeserializeOwned + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Serialize + Send,
{
    fn run(&self, name: &'static str, args: Args, answer: Answer) -> AsyncRun {
        let work = self.0;
        // `run_async`'s match, boxed as `Send`. Each branch is boxed on its own, so a lone
        // work's allocation is the size of its own future, not of a chunk's join.
        AsyncRun::Send(match chunk_run::decode::<A>(args, name) {
            Ok(Decoded::One(item)) => Box::pin(answered(
                chunk_run::run_one(move || work(item), name),
                answer,
            )),
            Ok(Decoded::Chunk(items, failed)) => Box::pin(answered(
                chunk_run::run_chunk(work, items, failed, name),
                answer,
            )),
            Err(error) => {
                answer.send(Err(error));
                Box::pin(std::future::ready(()))
            }
        })
    }
}

/// Runs a work whose future is not `Send` (the fallback of `#[aplex::work]`).
pub trait RunLocal {
    /// The chunk's run, on the worker's thread, answered by `answer`.
    fn run(&self, name: &'static str, args: Args, answer: Answer) -> AsyncRun;
}

impl<F, A, Fut> RunLocal for &Probe<F, A>
where
    F: Fn(A) -> Fut + Copy + 'static,
    A: DeserializeOwned + 'static,
    Fut: Future + 'static,
    Fut::Output: Serialize,
{
    fn run(&self, name: &'static str, args: Args, answer: Answer) -> AsyncRun {
        AsyncRun::Local(run_async(name, args, answer, self.0))
    }
}

/// Runs a blocking work over an encoded chunk of arguments, giving the encoded outcomes.
pub type BlockingTrampoline = fn(Args) -> Result<Encoded, Error>;

/// A chunk's encoded arguments as they arrived (a buffer, or a region of shared memory
/// read in place rather than copied out); what a trampoline decodes.
pub struct Args(ArgsBytes);

/// Where [`Args`] keeps its bytes.
enum ArgsBytes {
    /// Bytes of its own: a tiny work's few inline, no allocation (made on the thread that
    /// reads them, freed on the one that runs the work).
    Own(InlineBytes),
    /// Anything that holds bytes.
    Boxed(Box<dyn AsRef<[u8]> + Send>),
}

impl Args {
    /// The arguments in `bytes`.
    pub fn new(bytes: impl AsRef<[u8]> + Send + 'static) -> Self {
        Args(ArgsBytes::Boxed(Box::new(bytes)))
    }

    /// The encoded bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            ArgsBytes::Own(bytes) => bytes,
            ArgsBytes::Boxed(bytes) => (**bytes).as_ref(),
        }
    }
}

impl From<InlineBytes> for Args {
    /// The arguments in `bytes`, kept as they are: a few inline, more in their buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex_core::registry::inline_bytes::InlineBytes;
    /// use aplex_core::registry::Args;
    ///
    /// assert_eq!(Args::from(InlineBytes::copy_of(&[1, 2, 3])).bytes(), [1, 2, 3]);
    /// ```
    fn from(bytes: InlineBytes) -> Self {
        Args(ArgsBytes::Own(bytes))
    }
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("len", &self.bytes().len())
            .finish()
    }
}

/// Makes worker `index`'s state; registered by `#[aplex::worker_state]`.
pub type StateTrampoline = fn(usize) -> Result<WorkerStateValue, String>;

/// How a registered work runs.
#[derive(Debug, Clone, Copy)]
pub enum Trampoline {
    /// An `async fn`: runs as a task on the worker's runtime.
    Async(AsyncTrampoline),
    /// A plain `fn`: runs on the worker runtime's blocking pool.
    Blocking(BlockingTrampoline),
    /// Not a work: the maker of each worker's state, run once as the worker starts.
    State(StateTrampoline),
}

/// One registered work; made by `#[aplex::work]`, not by hand.
#[derive(Debug)]
pub struct WorkEntry {
    name: fn() -> &'static str,
    trampoline: Trampoline,
}

impl WorkEntry {
    /// An entry for an async work.
    pub const fn asynchronous(name: fn() -> &'static str, run: AsyncTrampoline) -> Self {
        WorkEntry {
            name,
            trampoline: Trampoline::Async(run),
        }
    }

    /// An entry for a blocking work.
    pub const fn blocking(name: fn() -> &'static str, run: BlockingTrampoline) -> Self {
        WorkEntry {
            name,
            trampoline: Trampoline::Blocking(run),
        }
    }
}

impl WorkEntry {
    /// An entry for a worker-state maker.
    pub const fn state(name: fn() -> &'static str, make: StateTrampoline) -> Self {
        WorkEntry {
            name,
            trampoline: Trampoline::State(make),
        }
    }
}

/// The trampoline body of a worker-state maker: the state, type-erased; a panic is an
/// error with its message.
pub fn make_state<F, S>(make: F, worker: usize) -> Result<WorkerStateValue, String>
where
    F: FnOnce(usize) -> Result<S, String>,
    S: std::any::Any + Send + Sync,
{
    match catch_blocking(|| make(worker)) {
        Ok(Ok(state)) => Ok(std::sync::Arc::new(state)),
        Ok(Err(message)) => Err(message),
        Err(Error::Panicked { message }) => Err(format!("it panicked: {message}")),
        Err(other) => Err(other.to_string()),
    }
}

/// Every work registered with `#[aplex::work]` in this executable.
#[linkme::distributed_slice]
pub static WORKS: [WorkEntry];

/// The registry name of the function item `work`.
pub fn type_name_of<F>(_work: &F) -> &'static str {
    type_name::<F>()
}

/// The trampoline body of an async work: decode the chunk, run every item
/// concurrently (a panic fails only its item), encode the outcomes and send them to
/// `answer`. A chunk of one item awaits its work alone, inside this future
/// (`chunk_run.rs`).
pub fn run_async<F, A, Fut>(
    name: &'static str,
    args: Args,
    answer: Answer,
    work: F,
) -> LocalBoxFuture<'static, ()>
where
    F: Fn(A) -> Fut + Copy + 'static,
    A: DeserializeOwned + 'static,
    Fut: Future + 'static,
    Fut::Output: Serialize,
{
    match chunk_run::decode::<A>(args, name) {
        Ok(Decoded::One(item)) => Box::pin(answered(
            chunk_run::run_one(move || work(item), name),
            answer,
        )),
        Ok(Decoded::Chunk(items, failed)) => Box::pin(answered(
            chunk_run::run_chunk(work, items, failed, name),
            answer,
        )),
        Err(error) => {
            answer.send(Err(error));
            Box::pin(std::future::ready(()))
        }
    }
}

/// The trampoline body of a blocking work: decode the chunk, run every item in turn (a
/// panic fails only its item), encode the outcomes.
pub fn run_blocking<F, A, R>(name: &'static str, args: Args, work: F) -> Result<Encoded, Error>
where
    F: Fn(A) -> R,
    A: DeserializeOwned,
    R: Serialize,
{
    let (items, failed) = decode_split::<A>(args.bytes(), name, "arguments")?;
    drop(args); // read: its buffer (or shared region) is free before the work runs
    let outcomes = items
        .into_iter()
        .map(|item| catch_blocking(|| work(item)))
        .collect();
    encode_outcomes(merge_failures(outcomes, failed), name)
}

/// The registered works, sorted by name.
#[derive(Debug)]
pub struct Registry {
    entries: Vec<(&'static str, Trampoline)>,
    digest: u64,
}

impl Registry {
    fn collect() -> Registry {
        let mut entries: Vec<(&'static str, Trampoline)> = WORKS
            .iter()
            .map(|entry| ((entry.name)(), entry.trampoline))
            .collect();
        entries.sort_by_key(|(name, _)| *name);
        entries.dedup_by_key(|(name, _)| *name);
        let mut hasher = DefaultHasher::new();
        for (name, _) in &entries {
            name.hash(&mut hasher);
        }
        Registry {
            digest: hasher.finish(),
            entries,
        }
    }

    /// The index of the work called `name`.
    pub fn index_of(&self, name: &str) -> Option<u32> {
        let index = self
            .entries
            .binary_search_by_key(&name, |(entry, _)| entry)
            .ok()?;
        u32::try_from(index).ok()
    }

    /// The work at `index`.
    pub fn get(&self, index: u32) -> Option<(&'static str, Trampoline)> {
        self.entries.get(usize::try_from(index).ok()?).copied()
    }

    /// A digest of every registered name, compared at the handshake.
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

/// This executable's registry.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::collect)
}

/// Finds the registered work called `name`, checking that it is of the `kind` it was
/// submitted as.
pub fn lookup(name: &'static str, kind: WorkKind) -> Result<(u32, &'static str), Error> {
    thread_local! {
        /// The last work this thread found: a thread that submits works one by one looks
        /// the same one up each time, and the search compares names that share their
        /// crate's path.
        static LAST_FOUND: Cell<Option<(&'static str, WorkKind, u32)>> =
            const { Cell::new(None) };
    }
    if let Some((last, last_kind, index)) = LAST_FOUND.with(Cell::get) {
        if std::ptr::eq(last, name) && last_kind == kind {
            return Ok((index, name));
        }
    }
    let found = search(name, kind)?;
    LAST_FOUND.with(|last| last.set(Some((name, kind, found))));
    Ok((found, name))
}

/// [`lookup`]'s search of the registry.
fn search(name: &'static str, kind: WorkKind) -> Result<u32, Error> {
    let registry = registry();
    let index = registry.index_of(name).ok_or_else(|| Error::UnknownWork {
        name: name.to_owned(),
    })?;
    let registered = match registry.get(index) {
        Some((_, Trampoline::Async(_))) => WorkKind::Async,
        Some((_, Trampoline::Blocking(_))) => WorkKind::Blocking,
        _ => {
            return Err(Error::UnknownWork {
                name: name.to_owned(),
            })
        }
    };
    if registered != kind {
        return Err(Error::WrongKind {
            name: name.to_owned(),
            registered,
        });
    }
    Ok(index)
}

/// Finds the worker-state maker called `name` (registered with `#[aplex::worker_state]`).
pub fn lookup_state(name: &str) -> Result<u32, String> {
    let registry = registry();
    match registry
        .index_of(name)
        .map(|index| (index, registry.get(index)))
    {
        Some((index, Some((_, Trampoline::State(_))))) => Ok(index),
        Some(_) => Err(format!(
            "`{name}` is registered as a work, not as a worker-state maker: mark it \
             `#[aplex::worker_state]` instead of `#[aplex::work]`"
        )),
        None => Err(format!(
            "`{name}` is not registered: a process pool's (or a remote node's) worker \
             state is made in each worker process by a function marked \
             `#[aplex::worker_state]`, `fn(usize) -> Result<State, String>`"
        )),
    }
}

/// What `#[aplex::work]` and `#[aplex::worker_state]` expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::answer::Answer;
    pub use super::{
        make_state, run_async, run_blocking, type_name_of, Args, AsyncRun, AsyncTrampoline,
        BlockingTrampoline, Probe, RunLocal, RunSend, StateTrampoline, Trampoline, WorkEntry,
        WORKS,
    };
    pub use linkme;
    pub use serde_bytes::ByteBuf;

    /// What an async trampoline returns.
    pub type AsyncOutcome = AsyncRun;
    /// What a blocking trampoline returns.
    pub type BlockingOutcome = Result<super::encoded::Encoded, crate::Error>;
}
