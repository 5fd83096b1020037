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
