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
        "thread_map_cs1" => &[MinTimesPeer(3.0)],
        "thread_map_cs256" => &[MinTimesLimit(0.3)],
        "process_latency_median" => &[MaxTimesLimit(2.0), MaxTimesPeer(0.5)],
        "process_map_cs1" => &[MinTimesLimit(1.5), MinTimesPeer(3.0)],
        "process_map_cs256" => &[MinTimesLimit(0.3)],
        "thread_sleepers_wall" | "process_sleepers_wall" => &[MaxTimesLimit(3.0)],
        "thread_sleepers_memory" | "process_sleepers_memory" => &[Max(1024.0)],
        "cpu_bound_speedup" => &[Min(1.85)],
        "bytes_echo_1mib" => &[MinTimesLimit(0.6)],
        "startup" => &[MaxTimesLimit(3.0)],
        "remote_latency_median" => &[MaxTimesLimit(1.5)],
        "remote_map_cs1" => &[MinTimesLimit(0.7), Min(50_000.0)],
        "remote_sleepers_wall" => &[MaxTimesLimit(3.0)],
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
