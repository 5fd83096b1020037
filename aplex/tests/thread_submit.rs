//! Submitting on the thread pool, beyond the shared suite (`pool_suite/submit.rs`):
//! closures and non-`Send` futures, where blocking waits are allowed or refused,
//! runtime factories, and compile-time `Send`/`Sync` guarantees.

mod common;

use aplex::{Error, ThreadAsyncPoolExecutor, WorkFuture};

async fn double(x: u64) -> u64 {
    x * 2
}

fn square(x: u64) -> u64 {
    x * x
}

fn pool(size: usize) -> ThreadAsyncPoolExecutor {
    ThreadAsyncPoolExecutor::builder()
        .pool_size(size)
        .build()
        .expect("pool builds")
}

#[test]
fn async_works_whose_futures_are_not_send_run_wrapped_in_local() {
    let pool = pool(1);
    let not_send = |x: u64| async move {
        let shared = std::rc::Rc::new(x);
        tokio::task::yield_now().await;
        *shared + 1
    };
    assert_eq!(pool.submit(aplex::local(not_send), 41).result(), Ok(42));
    let mapped: Vec<u64> = pool
        .map(aplex::local(not_send), 0..4)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(mapped, [1, 2, 3, 4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_by_await_on_tokio() {
    let pool = pool(2);
    assert_eq!(pool.submit(double, 21).await, Ok(42));
    assert_eq!(pool.submit(aplex::blocking(square), 7).await, Ok(49));
    let all = futures::future::join_all((0..100).map(|x| pool.submit(double, x))).await;
    let expected: Vec<Result<u64, Error>> = (0..100).map(|x| Ok(x * 2)).collect();
    assert_eq!(all, expected);
    tokio::task::spawn_blocking(move || drop(pool))
        .await
        .unwrap();
}

#[tokio::test]
async fn blocking_wait_on_a_runtime_thread_is_an_error() {
    let pool = pool(1);
    let future = pool.submit(double, 1);
    assert_eq!(future.result(), Err(Error::BlockingInRuntime));
    let mut map = pool.map(double, 0..3);
    assert_eq!(map.next(), Some(Err(Error::BlockingInRuntime)));
    assert_eq!(map.next(), None);
    tokio::task::spawn_blocking(move || drop(pool))
        .await
        .unwrap();
}

#[test]
fn blocking_waits_are_allowed_where_blocking_is() {
    let pool = std::sync::Arc::new(pool(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    // Inside spawn_blocking.
    let in_spawn_blocking = {
        let pool = std::sync::Arc::clone(&pool);
        runtime.block_on(async move {
            tokio::task::spawn_blocking(move || pool.submit(double, 1).result()).await
        })
    };
    assert_eq!(in_spawn_blocking.unwrap(), Ok(2));
    // Inside block_in_place on a worker thread, result() and the map iterator.
    let in_block_in_place = {
        let pool = std::sync::Arc::clone(&pool);
        runtime.block_on(async move {
            tokio::spawn(async move {
                tokio::task::block_in_place(|| {
                    let one = pool.submit(double, 2).result();
                    let many: Result<Vec<u64>, Error> = pool.map(double, 0..3).collect();
                    (one, many)
                })
            })
            .await
        })
    };
    assert_eq!(in_block_in_place.unwrap(), (Ok(4), Ok(vec![0, 2, 4])));
    // On a thread that only entered the runtime.
    let _entered = runtime.enter();
    assert_eq!(
        pool.submit(double, 3)
            .result_timeout(std::time::Duration::from_secs(30)),
        Ok(6)
    );
    // Refused on a worker thread of the runtime's scheduler.
    let on_a_worker = {
        let pool = std::sync::Arc::clone(&pool);
        runtime.block_on(async move {
            tokio::spawn(async move { pool.submit(double, 4).result() }).await
        })
    };
    assert_eq!(on_a_worker.unwrap(), Err(Error::BlockingInRuntime));
    // ...unless the thread is marked with the escape hatch.
    let marked = {
        let pool = std::sync::Arc::clone(&pool);
        runtime.block_on(async move {
            tokio::spawn(async move {
                aplex::allow_blocking_on_this_thread();
                pool.submit(double, 5).result()
            })
            .await
        })
    };
    assert_eq!(marked.unwrap(), Ok(10));
    drop(_entered);
    runtime.shutdown_background();
}

#[test]
fn a_work_cannot_block_its_own_worker_thread() {
    let pool = std::sync::Arc::new(pool(1));
    let inner = std::sync::Arc::clone(&pool);
    let nested = pool.submit(
        move |x: u64| async move { inner.submit(double, x).result() },
        5,
    );
    assert_eq!(nested.result(), Ok(Err(Error::BlockingInRuntime)));
}

#[test]
fn blocking_wait_inside_a_blocking_work_is_allowed() {
    let pool = std::sync::Arc::new(pool(2));
    let inner = std::sync::Arc::clone(&pool);
    let nested = pool.submit(
        aplex::blocking(move |x: u64| inner.submit(double, x).result()),
        5,
    );
    assert_eq!(nested.result(), Ok(Ok(10)));
}

#[test]
fn a_failing_runtime_factory_fails_build() {
    let error = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .worker_loop_factory(|| Err(std::io::Error::other("no runtime today")))
        .build()
        .unwrap_err();
    assert_eq!(error.worker(), Some(0));
    let source = std::error::Error::source(&error).expect("the factory's error is kept");
    assert_eq!(source.to_string(), "no runtime today");
}

#[test]
fn a_custom_runtime_factory_is_used_by_every_worker() {
    let built = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&built);
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(3)
        .worker_loop_factory(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
        })
        .build()
        .unwrap();
    assert_eq!(built.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(pool.submit(double, 2).result(), Ok(4));
}

#[test]
fn pools_futures_and_maps_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<ThreadAsyncPoolExecutor>();
    send_sync::<aplex::ProcessAsyncPoolExecutor>();
    send_sync::<aplex::WorkOptions>();
    send_sync::<aplex::PoolStats>();
    send_sync::<WorkFuture<u64>>();
    send::<aplex::Map<'static, u64, u64>>();
    send::<aplex::MapStream<'static, u64, u64>>();
    send_sync::<Error>();
    send_sync::<aplex::BuildError>();
    // The futures of the async calls, so they can be spawned on a multi-thread runtime.
    fn send_value<T: Send>(_: &T) {}
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let submitting = pool.submit_async(|x: u64| async move { x }, 1);
    send_value(&submitting);
    drop(submitting);
    let shutting_down = pool.shutdown_async();
    send_value(&shutting_down);
}
