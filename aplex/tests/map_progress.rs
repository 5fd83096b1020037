//! `map(..).progress()` (feature `progress`): the bar does not change what the map
//! yields, on known and unknown input lengths, on both pools.
#![cfg(feature = "progress")]

use aplex::{Error, ThreadAsyncPoolExecutor};

async fn double(x: u64) -> u64 {
    x * 2
}

#[test]
fn a_map_with_a_progress_bar_yields_the_same_results() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let known: Vec<u64> = pool
        .map(double, 0..1000)
        .progress()
        .collect::<Result<_, Error>>()
        .unwrap();
    assert_eq!(known, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
    let unknown_length = (0..).take_while(|&x| x < 500);
    let unknown: Vec<u64> = pool
        .map(double, unknown_length)
        .progress()
        .collect::<Result<_, Error>>()
        .unwrap();
    assert_eq!(unknown.len(), 500);
    let failing: Vec<Result<u64, Error>> = pool
        .map(
            |x: u64| async move {
                if x == 3 {
                    panic!("three")
                }
                x
            },
            0..10,
        )
        .progress()
        .collect();
    assert_eq!(failing.len(), 4);
}

/// A writer whose bytes the test can read back.
#[derive(Clone, Default)]
struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    /// The last state drawn: what follows the last carriage return.
    fn last_line(&self) -> String {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.rsplit('\r').next().unwrap_or_default().to_owned()
    }
}

#[test]
fn the_bar_shows_works_throughput_and_failures_and_ends_its_line() {
    let pool = ThreadAsyncPoolExecutor::builder()
        .pool_size(2)
        .build()
        .unwrap();
    let known = Buffer::default();
    let results: Vec<Result<u64, Error>> = pool
        .map(
            |x: u64| async move {
                assert!(x != 3, "three");
                x
            },
            0..10,
        )
        .keep_going()
        .progress_to(known.clone())
        .collect();
    assert_eq!(results.len(), 10);
    let last = known.last_line();
    assert!(last.ends_with('\n'), "{last:?}");
    assert!(last.contains("10/10 works"), "{last:?}");
    assert!(last.contains("/s"), "throughput: {last:?}");
    assert!(last.contains(", 1 failed"), "{last:?}");
    assert!(last.contains("eta "), "{last:?}");

    let unknown = Buffer::default();
    let counted = pool
        .map(double, (0..).take_while(|&x| x < 500))
        .progress_to(unknown.clone())
        .count();
    assert_eq!(counted, 500);
    let last = unknown.last_line();
    assert!(last.ends_with('\n'), "{last:?}");
    assert!(last.contains("500 works"), "{last:?}");
    assert!(!last.contains("failed"), "no failure to show: {last:?}");
}
