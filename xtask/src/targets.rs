//! The performance targets (from the benchmark issue), as rules over a figure's medians.

use crate::figures::Figure;

/// A bound on `ours` relative to the limit, the peer, or an absolute value.
#[derive(Debug, Clone, Copy)]
enum Rule {
    MaxTimesLimit(f64),
    MinTimesLimit(f64),
    MaxTimesPeer(f64),
    MinTimesPeer(f64),
    Max(f64),
    Min(f64),
}

impl Rule {
    fn text(self) -> String {
        match self {
            Rule::MaxTimesLimit(k) => format!("<= {k} x limit"),
            Rule::MinTimesLimit(k) => format!(">= {k} x limit"),
            Rule::MaxTimesPeer(k) => format!("<= {k} x peer"),
            Rule::MinTimesPeer(k) => format!(">= {k} x peer"),
            Rule::Max(v) => format!("<= {v}"),
            Rule::Min(v) => format!(">= {v}"),
        }
    }

    fn met(self, figure: &Figure) -> bool {
        let ours = figure.ours;
        match self {
            Rule::MaxTimesLimit(k) => figure.limit.is_some_and(|limit| ours <= k * limit),
            Rule::MinTimesLimit(k) => figure.limit.is_some_and(|limit| ours >= k * limit),
            Rule::MaxTimesPeer(k) => figure.peer.is_some_and(|peer| ours <= k * peer),
            Rule::MinTimesPeer(k) => figure.peer.is_some_and(|peer| ours >= k * peer),
            Rule::Max(v) => ours <= v,
            Rule::Min(v) => ours >= v,
        }
    }
}

fn rules(name: &str) -> &'static [Rule] {
    use Rule::*;
    match name {
        "thread_latency_median" => &[MaxTimesLimit(1.5)],
        // Round two (issue 14): the thread maps against the raw tokio limit.
        "thread_map_cs1" => &[MinTimesLimit(0.75), MinTimesPeer(3.0)],
        "thread_map_cs256" => &[MinTimesLimit(0.6)],
        // Round two: the process round trip at most the bare ipc-channel ping-pong's.
        "process_latency_median" => &[MaxTimesLimit(1.0), MaxTimesPeer(0.5)],
        "process_latency_p99" => &[MaxTimesLimit(1.2)],
        "process_map_cs1" => &[MinTimesLimit(1.5), MinTimesPeer(3.0)],
        "process_map_cs256" => &[MinTimesLimit(0.3)],
        // Round two: 100,000 sleepers of 200 ms at most 1.5 x the sleep.
        "thread_sleepers_wall" | "process_sleepers_wall" => &[MaxTimesLimit(1.5)],
        "thread_sleepers_memory" | "process_sleepers_memory" => &[Max(1024.0)],
        "cpu_bound_speedup" => &[Min(1.85)],
        // Against ipc-channel's raw byte channel echoing the same bytes (issue 14; the
        // serde echo that was the limit before ran 5-10 x slower than it).
        "bytes_echo_1mib" | "bytes_echo_64mib" => &[MinTimesLimit(0.5)],
        // Round two: start-up at most 1.5 x one spawn and handshake.
        "startup" => &[MaxTimesLimit(1.5)],
        "remote_latency_median" => &[MaxTimesLimit(1.5)],
        "remote_map_cs1" => &[MinTimesLimit(0.7), Min(50_000.0)],
        "remote_sleepers_wall" => &[MaxTimesLimit(3.0)],
        // CPU works of 10 µs at chunksize 1 against rayon's par_iter on 2 threads; tiny
        // blocking works against tiny async ones on the same pool.
        "cpu_10us_thread_cs1" => &[MaxTimesPeer(1.3)],
        "cpu_10us_process_cs1" => &[MaxTimesPeer(1.5)],
        "thread_blocking_map_cs1" | "process_blocking_map_cs1" => &[MinTimesLimit(0.5)],
        // Against Python aplex 1.0.1 in the same run (`--peers python`): latency 20 ×
        // lower, maps at chunksize 1 and 256 200 × and 40 × the throughput, the 1 MiB
        // echo 8 × — on the process pool and the thread pool alike.
        "process_latency_median_vs_python" | "thread_latency_median_vs_python" => {
            &[MaxTimesPeer(0.05)]
        }
        "process_map_cs1_vs_python" | "thread_map_cs1_vs_python" => &[MinTimesPeer(200.0)],
        "process_map_cs256_vs_python" | "thread_map_cs256_vs_python" => &[MinTimesPeer(40.0)],
        "bytes_echo_1mib_vs_python" => &[MinTimesPeer(8.0)],
        _ => &[],
    }
}

/// The target as text (`-` when the figure is informational) and whether it is met.
pub(crate) fn judge(figure: &Figure) -> (String, Option<bool>) {
    let rules = rules(&figure.name);
    if rules.is_empty() {
        return ("-".to_owned(), None);
    }
    let text = rules
        .iter()
        .map(|rule| rule.text())
        .collect::<Vec<_>>()
        .join(" and ");
    (text, Some(rules.iter().all(|rule| rule.met(figure))))
}
