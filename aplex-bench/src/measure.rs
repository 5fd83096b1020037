//! Small measuring tools: timing, medians and percentiles, and the process's RSS.

use std::time::Instant;

/// Calls each of `steps` `count` times, taking turns in blocks of [`TURN`] calls, each
/// block after [`TURN_WARM_UP`] calls not measured; returns each step's call times in
/// microseconds. Taking turns puts every step under the same machine conditions: on a
/// VM the cost of waking a thread drifts several-fold within seconds, so measuring one
/// step after the other compares different machines. The calls of each turn's warm-up
/// pay for the step before (its threads still spinning, caches cold) and would be a
/// percent of the calls: the p99.
pub(crate) fn latencies_taking_turns<const N: usize>(
    count: usize,
    mut steps: [&mut dyn FnMut(u64); N],
) -> [Vec<f64>; N] {
    let mut times: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(count));
    let mut done = 0;
    while done < count {
        let block = TURN.min(count - done);
        for (step, times) in steps.iter_mut().zip(times.iter_mut()) {
            for i in 0..TURN_WARM_UP {
                step((done + i) as u64);
            }
            for i in done..done + block {
                let started = Instant::now();
                step(i as u64);
                times.push(started.elapsed().as_secs_f64() * 1e6);
            }
        }
        done += block;
    }
    times
}

/// Measured calls per turn in [`latencies_taking_turns`].
pub(crate) const TURN: usize = 250;

/// Calls not measured at the start of each turn.
pub(crate) const TURN_WARM_UP: usize = 20;

/// The `q`-quantile (0..=1) of `values`.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// Runs each of `runs` (each gives its rate, items per second) once to warm up, then
/// [`RATE_TURNS`] times, taking turns; returns each one's median. A map of 200,000 tiny
/// works at chunksize 256 takes 1–2 ms: one such run is a lottery on a VM whose speed
/// swings within seconds (a timer tick, a preemption, another guest), so each rate is
/// the middle of several, and the turns put ours and its limit under the same machine.
pub(crate) fn rates_taking_turns<const N: usize>(
    mut runs: [&mut dyn FnMut() -> f64; N],
) -> [f64; N] {
    for run in runs.iter_mut() {
        run();
    }
    let mut rates: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(RATE_TURNS));
    for _ in 0..RATE_TURNS {
        for (run, rates) in runs.iter_mut().zip(rates.iter_mut()) {
            rates.push(run());
        }
    }
    rates.map(|rates| quantile(&rates, 0.5))
}

/// Measured runs of each throughput in [`rates_taking_turns`].
pub(crate) const RATE_TURNS: usize = 5;

/// Items per second for `items` done by `run`.
pub(crate) fn rate(items: usize, run: impl FnOnce()) -> f64 {
    let started = Instant::now();
    run();
    items as f64 / started.elapsed().as_secs_f64()
}

/// Items per second of `count`, a run that does `items` items and says how many it did
/// (checked).
pub(crate) fn counted_rate(items: usize, count: impl FnOnce() -> usize) -> f64 {
    rate(items, || assert_eq!(count(), items))
}

/// [`counted_rate`], after one run to warm up.
pub(crate) fn warm_rate(items: usize, count: impl Fn() -> usize) -> f64 {
    assert_eq!(count(), items);
    counted_rate(items, count)
}

/// Seconds taken by `run`.
pub(crate) fn seconds(run: impl FnOnce()) -> f64 {
    let started = Instant::now();
    run();
    started.elapsed().as_secs_f64()
}

/// This process's resident set size, in bytes.
pub(crate) fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}
