//! Mapping a work over an input: input order whatever the chunk size, laziness, errors
//! that end the map or (with `keep_going`) do not, settings refused at the first call,
//! as-completed order and streams.

use std::time::Duration;

use aplex::{blocking, Clock, Error};
use futures::StreamExt;

use crate::works::{double, even_only, forever, square};

pool_suite! {
    #[test]
    fn results_come_in_input_order_with_any_chunksize() {
        let pool = builder().pool_size(2).build().unwrap();
        let doubled: Vec<u64> = (0..200).map(|x| x * 2).collect();
        let squared: Vec<u64> = (0..200).map(|x| x * x).collect();
        for chunksize in [1, 3, 64, 500] {
            let got: Result<Vec<u64>, Error> = pool.map(double, 0..200).chunksize(chunksize).collect();
            assert_eq!(got.as_ref(), Ok(&doubled), "async, chunksize {chunksize}");
            let got: Result<Vec<u64>, Error> =
                pool.map(blocking(square), 0..200).chunksize(chunksize).collect();
            assert_eq!(got.as_ref(), Ok(&squared), "blocking, chunksize {chunksize}");
        }
    }

    #[test]
    fn an_empty_input_gives_no_results() {
        let pool = builder().pool_size(1).build().unwrap();
        assert_eq!(pool.map(double, std::iter::empty::<u64>()).count(), 0);
    }

    #[test]
    fn invalid_map_settings_are_the_maps_only_result() {
        let pool = builder().pool_size(1).build().unwrap();
        let zero_chunks: Vec<_> = pool.map(double, 0..10).chunksize(0).collect();
        assert!(matches!(zero_chunks[..], [Err(Error::InvalidConfig { setting: "chunksize", .. })]), "{zero_chunks:?}");
        let zero_window: Vec<_> = pool.map(double, 0..10).window(0).collect();
        assert!(matches!(zero_window[..], [Err(Error::InvalidConfig { setting: "window", .. })]), "{zero_window:?}");
        let zero_timeout: Vec<_> = pool.map(double, 0..10).timeout(Duration::ZERO).collect();
        assert!(matches!(zero_timeout[..], [Err(Error::InvalidConfig { setting: "timeout", .. })]), "{zero_timeout:?}");
    }

    #[test]
    fn the_first_error_ends_the_map_unless_it_keeps_going() {
        let pool = builder().pool_size(2).build().unwrap();
        let ended: Vec<_> = pool.map(even_only, 0..6).collect();
        assert_eq!(ended.len(), 2, "{ended:?}");
        assert_eq!(ended[0], Ok(0));
        assert!(matches!(&ended[1], Err(Error::Panicked { message }) if message.contains("odd item 1")), "{ended:?}");
        for chunksize in [1, 4] {
            let all: Vec<_> = pool.map(even_only, 0..6).chunksize(chunksize).keep_going().collect();
            let oks: Vec<u64> = all.iter().filter_map(|result| result.clone().ok()).collect();
            assert_eq!(oks, [0, 2, 4], "chunksize {chunksize}: {all:?}");
            assert_eq!(all.len(), 6);
        }
    }

    #[test]
    fn an_endless_input_is_pulled_lazily() {
        let pool = builder().pool_size(2).max_works_per_worker(4).build().unwrap();
        let first: Vec<u64> = pool.map(double, 0..).take(10).map(Result::unwrap).collect();
        assert_eq!(first, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_maps_timeout_ends_it_with_timed_out() {
        let pool = builder().pool_size(1).build().unwrap();
        let results: Vec<_> = pool.map(forever, [(), ()]).timeout(Duration::from_millis(20)).collect();
        assert_eq!(results, [Err(Error::TimedOut { clock: Clock::Map })]);
        assert_eq!(pool.submit(double, 2).result(), Ok(4), "the map's works were cancelled");
    }

    #[test]
    fn unordered_and_streamed_maps_yield_every_result() {
        let pool = builder().pool_size(2).build().unwrap();
        let mut unordered: Vec<u64> = pool.map(double, 0..100).unordered().map(Result::unwrap).collect();
        unordered.sort_unstable();
        assert_eq!(unordered, (0..100).map(|x| x * 2).collect::<Vec<_>>());
        let streamed: Vec<u64> = futures::executor::block_on(
            pool.map(blocking(square), 0..10).chunksize(3).into_stream().map(Result::unwrap).collect(),
        );
        assert_eq!(streamed, (0..10).map(|x| x * x).collect::<Vec<_>>());
    }
}
