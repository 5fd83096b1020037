//! The pool from async code, which must never block its runtime thread: a submit that
//! awaits room in a bounded queue, and a shutdown that awaits the drain.

use crate::backend::accepts::Accepts;
use crate::work::Work;
use crate::worker::Worker;
use crate::{Error, Pool, Refused, WorkFuture, WorkOptions};

impl<B: Worker> Pool<B> {
    /// Like [`submit`](Self::submit), for async callers: when the bounded pending queue is
    /// full, this awaits room instead of blocking the thread.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future before it completes drops the work unsubmitted.
    ///
    /// # Examples
    ///
    /// ```
    /// async fn double(x: u64) -> u64 { x * 2 }
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).max_pending(1).build()?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let doubled = runtime.block_on(async { pool.submit_async(double, 21).await.await })?;
    /// assert_eq!(doubled, 42);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn submit_async<W, A>(&self, work: W, args: A) -> WorkFuture<W::Out>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        self.submit_with_async(work, args, WorkOptions::new()).await
    }

    /// Like [`submit_with`](Self::submit_with), for async callers: awaits room in a full
    /// bounded queue instead of blocking the thread.
    ///
    /// # Cancel safety
    ///
    /// Dropping the returned future before it completes drops the work unsubmitted.
    ///
    /// # Examples
    ///
    /// ```
    /// use aplex::WorkOptions;
    ///
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// let options = WorkOptions::new().meta("any meta");
    /// let one = runtime.block_on(async {
    ///     pool.submit_with_async(|x: u8| async move { x }, 1, options).await.await
    /// })?;
    /// assert_eq!(one, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn submit_with_async<W, A>(
        &self,
        work: W,
        args: A,
        options: WorkOptions,
    ) -> WorkFuture<W::Out>
    where
        B: Accepts<W, A>,
        W: Work<A>,
        W::Out: Send + 'static,
    {
        let mut parts = (work, args);
        loop {
            let (work, args) = parts;
            match self.try_submit_with(work, args, options.clone()) {
                Ok(future) => return future,
                Err(Refused {
                    error: Error::QueueFull { .. },
                    work,
                }) => {
                    parts = work;
                    self.executor().room().await;
                }
                Err(Refused { error, .. }) => return WorkFuture::failed(error),
            }
        }
    }

    /// Like [`shutdown(true)`](Self::shutdown), for async callers: stops intake, then
    /// awaits the queued and running works and the workers' end, waiting on a thread of
    /// its own rather than the caller's.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = aplex::ThreadAsyncPoolExecutor::builder().pool_size(1).build()?;
    /// let queued = pool.submit(|x: u8| async move { x }, 7);
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// runtime.block_on(pool.shutdown_async());
    /// assert!(pool.is_shut_down());
    /// assert_eq!(queued.result(), Ok(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn shutdown_async(&self) {
        let executor = self.executor().clone();
        let (done, finished) = futures::channel::oneshot::channel();
        let waiter = std::thread::Builder::new()
            .name("aplex-shutdown".into())
            .spawn(move || {
                executor.shutdown(true);
                let _ = done.send(());
            });
        match waiter {
            Ok(_) => {
                let _ = finished.await;
            }
            // No thread to wait on: stop intake at least, and wait here.
            Err(_) => self.executor().shutdown(true),
        }
    }
}
