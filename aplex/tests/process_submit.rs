//! Submitting on the process pool, beyond the shared suite (`pool_suite/submit.rs`):
//! works run in other processes, lone works waited for from several threads at once
//! (each waiting caller may read its reply itself), (de)serialisation failures as errors,
//! unregistered works refused, big byte payloads intact, registered works running
//! unchanged on the thread pool, and a worker runtime or start timeout set beyond what
//! tokio or the clock takes refused or capped at build.

mod common;

use aplex::serde::{Deserialize, Serialize};
use aplex::{Error, ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor};

#[aplex::work]
async fn double(x: u64) -> u64 {
    tokio::task::yield_now().await;
    x * 2
}

#[aplex::work]
fn square(x: u64) -> u64 {
    x * x
}

#[aplex::work]
async fn where_async(_: ()) -> u32 {
    std::process::id()
}

#[aplex::work]
fn where_blocking(_: ()) -> u32 {
    std::process::id()
}

#[aplex::work]
fn echo_bytes(data: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf {
    data
}

#[aplex::work]
fn echo_vec(data: Vec<u8>) -> Vec<u8> {
    data
}

/// Serialises only when `ok`: an argument that cannot be encoded.
#[derive(Debug)]
struct Fragile {
    ok: bool,
}

impl Serialize for Fragile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.ok {
            serializer.serialize_bool(true)
        } else {
            Err(serde::ser::Error::custom(
                "this value refuses to be encoded",
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Fragile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ok = bool::deserialize(deserializer)?;
        if ok {
            Ok(Fragile { ok })
        } else {
            Err(serde::de::Error::custom("this value refuses to be decoded"))
        }
    }
}

#[aplex::work]
fn fragile_in(value: Fragile) -> bool {
    value.ok
}

#[aplex::work]
fn fragile_out(ok: bool) -> Fragile {
    Fragile { ok }
}

/// Always encodes, but decodes only from `true`: a value the receiving side rejects.
#[derive(Debug, Serialize)]
struct Picky(bool);

impl<'de> Deserialize<'de> for Picky {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if bool::deserialize(deserializer)? {
            Ok(Picky(true))
        } else {
            Err(serde::de::Error::custom("only true decodes"))
        }
    }
}

#[aplex::work]
fn picky_in(value: Picky) -> bool {
    value.0
}

#[aplex::work]
fn picky_out(value: bool) -> Picky {
    Picky(value)
}

fn pool() -> ProcessAsyncPoolExecutor {
    ProcessAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .expect("pool builds")
}

#[test]
fn async_and_blocking_works_run_in_other_processes() {
    let pool = pool();
    let me = std::process::id();
    let worker_pids: Vec<u32> = pool.worker_pids().into_iter().map(Option::unwrap).collect();
    assert_eq!(worker_pids.len(), 2);
    assert!(!worker_pids.contains(&me));
    let ran_async = pool.submit(where_async, ()).result().unwrap();
    let ran_blocking = pool
        .submit(aplex::blocking(where_blocking), ())
        .result()
        .unwrap();
    assert!(
        worker_pids.contains(&ran_async),
        "{ran_async} not in {worker_pids:?}"
    );
    assert!(worker_pids.contains(&ran_blocking));
    let infos = pool.workers();
    assert_eq!(infos.iter().map(|w| w.pid).collect::<Vec<_>>(), worker_pids);
}

#[test]
fn lone_works_waited_for_from_several_threads_each_get_their_own_reply() {
    // Each caller sends its work itself and may read replies while it spins; with four
    // callers on two workers, a caller may read another's reply, or find the reading
    // taken and wait for it to be handed over. Every caller must get its own.
    common::within(std::time::Duration::from_secs(120), || {
        let pool = std::sync::Arc::new(pool());
        let callers: Vec<_> = (0..4u64)
            .map(|caller| {
                let pool = std::sync::Arc::clone(&pool);
                std::thread::spawn(move || {
                    for i in 0..300 {
                        let x = caller * 1_000 + i;
                        assert_eq!(pool.submit(double, x).result(), Ok(2 * x));
                        if i % 50 == 0 {
                            let square = aplex::blocking(square);
                            assert_eq!(pool.submit(square, x).result(), Ok(x * x));
                        }
                    }
                })
            })
            .collect();
        for caller in callers {
            caller.join().unwrap();
        }
        let completed: u64 = pool.stats().workers.iter().map(|w| w.completed).sum();
        assert_eq!(completed, 4 * 300 + 4 * 6);
    });
}

#[test]
fn serialisation_failures_name_the_work_and_the_worker_survives() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let pid = pool.worker_pids()[0];
    let encode_args = pool
        .submit(aplex::blocking(fragile_in), Fragile { ok: false })
        .result()
        .unwrap_err();
    assert_serialization(&encode_args, "fragile_in", "arguments", "encode");
    let decode_args = pool
        .submit(aplex::blocking(picky_in), Picky(false))
        .result()
        .unwrap_err();
    assert_serialization(&decode_args, "picky_in", "arguments", "decode");
    let encode_output = pool
        .submit(aplex::blocking(fragile_out), false)
        .result()
        .unwrap_err();
    assert_serialization(&encode_output, "fragile_out", "output", "encode");
    let decode_output = pool
        .submit(aplex::blocking(picky_out), false)
        .result()
        .unwrap_err();
    assert_serialization(&decode_output, "picky_out", "output", "decode");
    assert!(pool
        .submit(aplex::blocking(fragile_in), Fragile { ok: true })
        .result()
        .unwrap());
    assert!(
        pool.submit(aplex::blocking(picky_out), true)
            .result()
            .unwrap()
            .0
    );
    assert_eq!(
        pool.worker_pids()[0],
        pid,
        "the worker survived every failure"
    );
    assert!(
        encode_args.to_string().contains("fragile_in"),
        "{encode_args}"
    );
}

fn assert_serialization(error: &Error, work: &str, what: &str, direction: &str) {
    match error {
        Error::Serialization {
            work: name,
            what: w,
            direction: d,
            ..
        } => {
            assert!(name.ends_with(work), "{name} should name {work}");
            assert_eq!((*w, *d), (what, direction), "{error}");
        }
        other => panic!("expected a serialisation error, got {other:?}"),
    }
}

#[test]
fn an_unregistered_work_is_refused_at_submit_naming_it() {
    let pool = pool();
    fn not_registered(x: u8) -> u8 {
        x
    }
    match pool.submit(aplex::blocking(not_registered), 1).result() {
        Err(Error::UnknownWork { name }) => assert!(name.ends_with("not_registered"), "{name}"),
        other => panic!("expected UnknownWork, got {other:?}"),
    }
    let closure = pool.submit(|x: u8| async move { x }, 1).result();
    match closure {
        Err(error @ Error::UnknownWork { .. }) => {
            let message = error.to_string();
            assert!(message.contains("a closure"), "{message}");
            assert!(message.contains("module-level fn"), "{message}");
        }
        other => panic!("expected UnknownWork, got {other:?}"),
    }
    let pointer: fn(u8) -> u8 = not_registered;
    match pool.submit(aplex::blocking(pointer), 1).result() {
        Err(error @ Error::UnknownWork { .. }) => {
            let message = error.to_string();
            assert!(message.contains("function pointer"), "{message}");
            assert!(message.contains("pass the function itself"), "{message}");
        }
        other => panic!("expected UnknownWork, got {other:?}"),
    }
    let refused = pool
        .try_submit(aplex::blocking(not_registered), 9)
        .unwrap_err();
    assert!(matches!(refused.error, Error::UnknownWork { .. }));
    assert_eq!(refused.work.1, 9);
    let mut map = pool.map(aplex::blocking(not_registered), 0..3);
    assert!(matches!(map.next(), Some(Err(Error::UnknownWork { .. }))));
    assert!(map.next().is_none());
    assert!(Error::UnknownWork { name: "x".into() }
        .to_string()
        .contains("#[aplex::work]"));
}

#[test]
fn a_mebibyte_of_bytes_round_trips_intact() {
    let pool = pool();
    let data: Vec<u8> = (0..1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    let echoed = pool
        .submit(
            aplex::blocking(echo_bytes),
            serde_bytes::ByteBuf::from(data.clone()),
        )
        .result()
        .unwrap();
    assert_eq!(echoed.into_vec(), data);
    let echoed = pool
        .submit(aplex::blocking(echo_vec), data.clone())
        .result()
        .unwrap();
    assert_eq!(echoed, data);
}

#[test]
fn registered_works_run_unchanged_on_the_thread_pool() {
    let threads = ThreadAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    assert_eq!(threads.submit(double, 4).result(), Ok(8));
    assert_eq!(threads.submit(aplex::blocking(square), 4).result(), Ok(16));
    assert_eq!(
        threads.submit(where_async, ()).result(),
        Ok(std::process::id())
    );
    // ...and the functions stay ordinary functions.
    assert_eq!(square(3), 9);
    assert_eq!(futures::executor::block_on(double(3)), 6);
}

#[test]
fn a_worker_runtime_can_be_configured() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .worker_loop_factory(aplex::RuntimeConfig {
            flavor: aplex::RuntimeFlavor::MultiThread { worker_threads: 2 },
            ..aplex::RuntimeConfig::default()
        })
        .build()
        .unwrap();
    assert_eq!(pool.submit(double, 8).result(), Ok(16));
}

#[test]
fn a_runtime_tokio_cannot_build_is_refused_at_build_naming_the_setting() {
    for runtime in [
        aplex::RuntimeConfig {
            max_blocking_threads: Some(0),
            ..aplex::RuntimeConfig::default()
        },
        aplex::RuntimeConfig {
            event_interval: Some(0),
            ..aplex::RuntimeConfig::default()
        },
        aplex::RuntimeConfig {
            flavor: aplex::RuntimeFlavor::MultiThread { worker_threads: 0 },
            ..aplex::RuntimeConfig::default()
        },
    ] {
        let built = ProcessAsyncPoolExecutor::builder()
            .pool_size(1)
            .worker_loop_factory(runtime)
            .build();
        let error = built.expect_err("a runtime tokio cannot build");
        assert_eq!(error.setting(), Some("worker_loop_factory"), "{error}");
    }
}

#[test]
fn a_start_timeout_too_long_for_the_clock_means_no_limit() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .start_timeout(std::time::Duration::MAX)
        .build()
        .unwrap();
    assert_eq!(pool.submit(double, 4).result(), Ok(8));
}

#[test]
fn one_item_of_a_chunk_that_fails_to_encode_or_decode_fails_alone() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let kinds = |results: Vec<Result<bool, Error>>| -> Vec<Option<(&'static str, &'static str)>> {
        results
            .into_iter()
            .map(|result| match result {
                Ok(_) => None,
                Err(Error::Serialization {
                    what, direction, ..
                }) => Some((what, direction)),
                Err(other) => panic!("unexpected {other:?}"),
            })
            .collect()
    };
    let fragile = [true, true, false, true].map(|ok| Fragile { ok });
    let encode_args = pool
        .map(aplex::blocking(fragile_in), fragile)
        .chunksize(4)
        .keep_going()
        .collect();
    assert_eq!(
        kinds(encode_args),
        [None, None, Some(("arguments", "encode")), None]
    );
    let decode_args = pool
        .map(aplex::blocking(picky_in), [true, false, true].map(Picky))
        .chunksize(3)
        .keep_going()
        .collect();
    assert_eq!(
        kinds(decode_args),
        [None, Some(("arguments", "decode")), None]
    );
    let encode_output: Vec<Result<bool, Error>> = pool
        .map(aplex::blocking(fragile_out), [true, false, true])
        .chunksize(3)
        .keep_going()
        .map(|result| result.map(|fragile| fragile.ok))
        .collect();
    assert_eq!(
        kinds(encode_output),
        [None, Some(("output", "encode")), None]
    );
    let decode_output: Vec<Result<bool, Error>> = pool
        .map(aplex::blocking(picky_out), [true, false, true])
        .chunksize(3)
        .keep_going()
        .map(|result| result.map(|picky| picky.0))
        .collect();
    assert_eq!(
        kinds(decode_output),
        [None, Some(("output", "decode")), None]
    );
}

#[test]
fn a_serialization_error_keeps_the_serializers_own_message() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    let in_the_parent = pool
        .submit(aplex::blocking(fragile_in), Fragile { ok: false })
        .result();
    let in_the_child = pool
        .submit(aplex::blocking(fragile_out), false)
        .result()
        .map(|f| f.ok);
    for outcome in [in_the_parent, in_the_child] {
        match outcome {
            Err(Error::Serialization { message, .. }) => {
                assert_eq!(message, "this value refuses to be encoded")
            }
            other => panic!("expected a serialisation error, got {other:?}"),
        }
    }
}
