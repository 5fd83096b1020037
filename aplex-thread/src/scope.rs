//! `ThreadAsyncPoolExecutor::scope`: works and map items that borrow from the caller's
//! stack, in the manner of `std::thread::scope` and rayon's `scope`.
//!
//! How it is sound:
//!
//! 1. Every scoped work is turned into a `'static` one by erasing the lifetimes of a
//!    boxed closure (the one `unsafe` here), paired with a [`Guard`] that counts it in the
//!    scope (`ScopedItem`). The pair is built so that the guard is dropped last: after
//!    the closure, and after the future or call it made, whether the work ran, was
//!    cancelled while queued, aborted while running, timed out, abandoned at shutdown,
//!    or panicked.
//! 2. `scope` does not return (nor unwind) until every guard of the scope has dropped:
//!    until then nothing that borrows from the caller's stack can still be reached. A
//!    blocking work that outlives its future (timed out, abandoned) keeps its guard, so
//!    the scope waits for it, as `std::thread::scope` waits for its threads.
//! 3. What the scope hands out cannot escape it: `Scope` and its maps are tied to the
//!    scope's lifetime by the borrow checker, and futures' outputs must be `'static`.
//!
//! A guard leaked (never dropped) would only make the scope wait forever, never make it
//! unsound.

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll};

use aplex_core::{blocking, local, Map, Work, WorkBody, WorkFuture, WorkKind, WorkOptions};
use futures::FutureExt;

use crate::pool::ThreadAsyncPoolExecutor;

/// How many of a scope's works are still alive, and a way to wait for none.
#[derive(Debug, Default)]
struct Live {
    count: Mutex<usize>,
    none: Condvar,
}

impl Live {
    fn enter(self: &Arc<Self>) -> Guard {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Guard(Arc::clone(self))
    }

    fn wait_for_none(&self) {
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            count = self
                .none
                .wait(count)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// One scoped work alive: dropped only once nothing of the work can run any more.
#[derive(Debug)]
struct Guard(Arc<Live>);

impl Drop for Guard {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            self.0.none.notify_all();
        }
    }
}

type MakeFuture<T> = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = T>>> + Send>;

/// A scoped work (or map item) erased to `'static`: what makes its future, then its guard
/// (fields drop in this order). A blocking work's future is its call, ready when first
/// polled, and is run on a blocking thread.
pub struct ScopedItem<T> {
    make: MakeFuture<T>,
    guard: Guard,
}

impl<T> std::fmt::Debug for ScopedItem<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopedItem").finish_non_exhaustive()
    }
}

impl<T: 'static> ScopedItem<T> {
    /// `work(args)`, erased for the scope whose `guard` this is.
    fn new<'scope, W, A>(work: impl FnOnce(A) -> W + Send + 'scope, args: A, guard: Guard) -> Self
    where
        W: WorkBody<Output = T> + 'scope,
        A: Send + 'scope,
    {
        let make = erase_future(Box::new(
            move || -> Pin<Box<dyn Future<Output = T> + 'scope>> {
                let body = work(args);
                match W::KIND {
                    WorkKind::Async => Box::pin(body.run_async()),
                    WorkKind::Blocking => Box::pin(async move { body.run_blocking() }),
                }
            },
        ));
        ScopedItem { make, guard }
    }

    /// Called on the worker for an async work: its future, the guard dropped after it.
    fn start(self) -> Guarded<T> {
        let ScopedItem { make, guard } = self;
        Guarded {
            future: make(),
            _guard: guard,
        }
    }

    /// Called on a blocking thread for a blocking work: its call, made at once.
    fn run(self) -> T {
        // `now_or_never`, not an executor: the call may itself block on futures.
        self.start()
            .now_or_never()
            .expect("a blocking work's future is its call, ready when first polled")
    }
}

/// A scoped work's future, then its guard (fields drop in this order).
struct Guarded<T> {
    future: Pin<Box<dyn Future<Output = T>>>,
    _guard: Guard,
}

impl<T> Future for Guarded<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.future.as_mut().poll(cx)
    }
}

/// Lets `make` live only for `'scope`, as its guard makes sure.
fn erase_future<'scope, T>(
    make: Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = T> + 'scope>> + Send + 'scope>,
) -> MakeFuture<T> {
    // SAFETY: only the lifetimes change (the layout is the same). The result is always
    // paired with a `Guard` of the scope, dropped after it and after the future it makes
    // (`ScopedItem`, `Guarded`), and `scope` returns only once every guard has dropped,
    // so nothing borrowed for `'scope` is reached after `'scope` ends.
    #[allow(unsafe_code)]
    unsafe {
        std::mem::transmute::<
            Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = T> + 'scope>> + Send + 'scope>,
            MakeFuture<T>,
        >(make)
    }
}

/// A scope of a thread pool, in which works and map items may borrow from the stack
/// `scope` was called on. Made by [`ThreadAsyncPoolExecutor::scope`].
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'env ThreadAsyncPoolExecutor,
    live: Arc<Live>,
    /// Invariant in both lifetimes, as `std::thread::Scope`.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("live", &self.live).finish()
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Runs `work(args)` on the pool, as [`submit`](aplex_core::Pool::submit) does; the
    /// work and its argument may borrow from outside the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let words = vec!["borrowed".to_owned(), "words".to_owned()];
    /// let total = pool.scope(|s| {
    ///     let first = s.submit(|word: &String| async move { word.len() }, &words[0]);
    ///     let second = s.submit(aplex::blocking(|word: &String| word.len()), &words[1]);
    ///     first.result().unwrap() + second.result().unwrap()
    /// });
    /// assert_eq!(total, 13);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn submit<W, A>(&'scope self, work: W, args: A) -> WorkFuture<W::Out>
    where
        W: Work<A> + Send + 'scope,
        A: Send + 'scope,
        W::Out: Send + 'static,
    {
        self.submit_with(work, args, WorkOptions::new())
    }

    /// Like [`submit`](Self::submit), with per-work [`WorkOptions`]. A blocking work past
    /// its timeout is left to finish, and the scope waits for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkOptions;
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let text = String::from("borrowed");
    /// let length = pool.scope(|s| {
    ///     let options = WorkOptions::new().meta("any meta");
    ///     s.submit_with(|text: &String| async move { text.len() }, &text, options).result()
    /// });
    /// assert_eq!(length, Ok(8));
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn submit_with<W, A>(
        &'scope self,
        work: W,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<W::Out>
    where
        W: Work<A> + Send + 'scope,
        A: Send + 'scope,
        W::Out: Send + 'static,
    {
        let item = ScopedItem::new(work, args, self.live.enter());
        match W::KIND {
            WorkKind::Async => self
                .pool
                .submit_with(local(ScopedItem::start), item, options),
            WorkKind::Blocking => self
                .pool
                .submit_with(blocking(ScopedItem::run), item, options),
        }
    }

    /// Applies `work` to every item of `items`, as [`map`](aplex_core::Pool::map) does;
    /// the work and the items may borrow from outside the scope.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let names = vec!["ada".to_owned(), "grace".to_owned()];
    /// let suffix = String::from("!");
    /// let shouted: Vec<String> = pool.scope(|s| {
    ///     s.map(aplex::blocking(|name: &String| name.to_uppercase() + &suffix), names.iter())
    ///         .map(Result::unwrap)
    ///         .collect()
    /// });
    /// assert_eq!(shouted, ["ADA!", "GRACE!"]);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn map<W, I>(&'scope self, work: W, items: I) -> Map<'scope, ScopedItem<W::Out>, W::Out>
    where
        W: Work<I::Item> + Fn(I::Item) -> W::Body + Send + Sync + 'scope,
        I: IntoIterator,
        I::IntoIter: Send + 'scope,
        I::Item: Send + 'scope,
        W::Out: Send + 'static,
    {
        let work = Arc::new(work);
        let live = Arc::clone(&self.live);
        let scoped = items.into_iter().map(move |item| {
            let work = Arc::clone(&work);
            ScopedItem::new(move |item| work(item), item, live.enter())
        });
        match W::KIND {
            WorkKind::Async => self.pool.map(local(ScopedItem::start), scoped),
            WorkKind::Blocking => self.pool.map(blocking(ScopedItem::run), scoped),
        }
    }
}

impl ThreadAsyncPoolExecutor {
    /// Runs `body` with a [`Scope`] in which works and map items may borrow from the
    /// caller's stack, and returns only once every work submitted in it is over —
    /// finished, cancelled or aborted, and dropped — even if `body` panics (the panic is
    /// then resumed). A blocking call, like `std::thread::scope`: in async code run it
    /// inside `tokio::task::spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    /// let mut counts = vec![0_usize; 3];
    /// let text = String::from("a borrowed text");
    /// pool.scope(|s| {
    ///     for (slot, letter) in counts.iter_mut().zip(['a', 'e', 't']) {
    ///         let text = &text;
    ///         *slot = s.submit(move |()| async move { text.matches(letter).count() }, ()).result().unwrap();
    ///     }
    /// });
    /// assert_eq!(counts, [1, 2, 2]);
    /// # Ok::<(), aplex::BuildError>(())
    /// ```
    pub fn scope<'env, F, R>(&'env self, body: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            pool: self,
            live: Arc::new(Live::default()),
            _scope: PhantomData,
            _env: PhantomData,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&scope)));
        scope.live.wait_for_none();
        match outcome {
            Ok(value) => value,
            Err(panic) => resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The scope's bookkeeping on its own (no pool, no threads but the test's), so Miri
    //! can run it: guards count works, and a work's guard drops after everything of it.

    use super::*;

    /// Records, in order, which part of a work was dropped.
    struct Noted(&'static str, Arc<Mutex<Vec<&'static str>>>);

    impl Drop for Noted {
        fn drop(&mut self) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn guards_count_the_works_alive() {
        let live = Arc::new(Live::default());
        let first = live.enter();
        let second = live.enter();
        assert_eq!(*live.count.lock().unwrap(), 2);
        drop(first);
        drop(second);
        live.wait_for_none();
        assert_eq!(*live.count.lock().unwrap(), 0);
    }

    #[test]
    fn a_works_guard_drops_after_its_future_and_its_call() {
        let live = Arc::new(Live::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let noted = Noted("future", Arc::clone(&order));
        let item = ScopedItem::new(|noted| async move { drop(noted) }, noted, live.enter());
        let guarded = item.start();
        assert_eq!(*live.count.lock().unwrap(), 1, "alive while its future is");
        drop(guarded);
        assert_eq!(*order.lock().unwrap(), ["future"]);
        assert_eq!(*live.count.lock().unwrap(), 0);

        let noted = Noted("call", Arc::clone(&order));
        let call = aplex_core::blocking(|noted: Noted| drop(noted));
        ScopedItem::new(call, noted, live.enter()).run();
        assert_eq!(*order.lock().unwrap(), ["future", "call"]);
        assert_eq!(*live.count.lock().unwrap(), 0);
    }

    #[test]
    fn a_work_dropped_unrun_drops_its_guard_too() {
        let live = Arc::new(Live::default());
        drop(ScopedItem::new(|x: u8| async move { x }, 1, live.enter()));
        drop(ScopedItem::new(
            aplex_core::blocking(|x: u8| x),
            1,
            live.enter(),
        ));
        live.wait_for_none();
    }
}
