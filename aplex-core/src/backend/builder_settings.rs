//! The settings every pool's builder has, written once: `pool_settings!` expands them
//! into a backend's builder, which keeps them in a field `options:`
//! [`PoolOptions`](crate::backend::PoolOptions). Each example builds the backend's own
//! pool, named by the macro's argument.

/// Expands the common builder settings (`pool_size`, `max_works_per_worker`,
/// `max_blocking_works_per_worker`, `load_balancer`, `max_pending`, `shutdown_grace`, `work_timeout`) inside a builder's
/// `impl` block; the arguments are the pool's path and, optionally, a hidden first line
/// for each example (such as an `extern crate` naming the facade `aplex`).
///
/// # Examples
///
/// ```
/// use aplex::backend::PoolOptions;
///
/// /// A builder with only the common settings.
/// #[derive(Debug, Default)]
/// pub struct Settings {
///     options: PoolOptions,
/// }
///
/// impl Settings {
///     aplex::backend::pool_settings!("aplex::ThreadAsyncPoolExecutor");
/// }
///
/// let settings = Settings::default().pool_size(3);
/// assert_eq!(settings.options.pool_size, Some(3));
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __pool_settings {
    ($pool:literal) => {
        $crate::__pool_settings!($pool, "");
    };
    ($pool:literal, $preamble:literal) => {
        /// The number of workers (default: the number of CPUs). Must be at least 1.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(2).build()?;")]
        /// assert_eq!(pool.pool_size(), 2);
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn pool_size(mut self, pool_size: usize) -> Self {
            self.options.pool_size = Some(pool_size);
            self
        }

        /// The most works one worker runs at once (default 300), async and blocking
        /// together. Must be at least 1. More works wait in the pool's pending queue.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).max_works_per_worker(10).build()?;")]
        /// assert_eq!(pool.max_works_per_worker(), 10);
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn max_works_per_worker(mut self, max: usize) -> Self {
            self.options.max_works_per_worker = max;
            self
        }

        /// The most blocking works one worker runs at once (default 1, so a pool of N
        /// runs N CPU-bound works at a time, as rayon and `concurrent.futures` do). Must be
        /// at least 1. The others wait on their worker, not yet begun: still
        /// cancellable, their timeouts not started. Raise it for blocking works that
        /// mostly wait (blocking I/O); `max_works_per_worker` still caps all works.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).max_blocking_works_per_worker(8).build()?;")]
        /// assert_eq!(pool.max_blocking_works_per_worker(), 8);
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn max_blocking_works_per_worker(mut self, max: usize) -> Self {
            self.options.max_blocking_works_per_worker = max;
            self
        }

        /// The balancer choosing a worker for each work (default
        /// [`RoundRobin`](https://docs.rs/aplex-balance/latest/aplex_balance/struct.RoundRobin.html)).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        /// use aplex::balance::Average;
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).load_balancer(Average::default()).build()?;")]
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn load_balancer(mut self, balancer: impl $crate::LoadBalancer) -> Self {
            self.options.load_balancer = Some(Box::new(balancer));
            self
        }

        /// Bounds the pending queue: beyond `max` waiting works, `submit` waits for room
        /// and `try_submit` hands the work back with
        /// [`Error::QueueFull`](aplex_core::Error::QueueFull) (default: unbounded). Must
        /// be at least 1.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).max_pending(100).build()?;")]
        /// assert_eq!(pool.pending(), 0);
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn max_pending(mut self, max: usize) -> Self {
            self.options.max_pending = Some(max);
            self
        }

        /// How long shutting down (`shutdown_now`, or dropping the pool) waits for running
        /// works before it abandons them (default 5 s).
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        /// use std::time::Duration;
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).shutdown_grace(Duration::from_millis(100)).build()?;")]
        /// drop(pool); // waits at most 100 ms for running works
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn shutdown_grace(mut self, grace: std::time::Duration) -> Self {
            self.options.shutdown_grace = grace;
            self
        }

        /// The timeout of every work that does not set its own with
        /// [`WorkOptions::timeout`](aplex_core::WorkOptions::timeout) (default: none);
        /// past it the work's future says [`Error::TimedOut`](aplex_core::Error::TimedOut).
        /// Must be longer than zero.
        ///
        /// # Examples
        ///
        /// ```
        #[doc = $preamble]
        /// use std::time::Duration;
        #[doc = concat!("let pool = ", $pool, "::builder().pool_size(1).work_timeout(Duration::from_secs(30)).build()?;")]
        /// # Ok::<(), aplex::BuildError>(())
        /// ```
        pub fn work_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.work_timeout = Some(timeout);
            self
        }
    };
}
