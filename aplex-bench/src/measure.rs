//! Small measuring tools: timing, medians and percentiles, and the process's RSS.

use std::time::Instant;

/// Calls `step` `count` times; returns each call's time in microseconds.
pub(crate) fn latencies(count: usize, mut step: impl FnMut(u64)) -> Vec<f64> {
    (0..count as u64)
        .map(|i| {
            let started = Instant::now();
            step(i);
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect()
}

/// The `q`-quantile (0..=1) of `values`.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// Items per second for `items` done by `run`.
pub(crate) fn rate(items: usize, run: impl FnOnce()) -> f64 {
    let started = Instant::now();
    run();
    items as f64 / started.elapsed().as_secs_f64()
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
