//! The one output format: a `result` line per figure, read by `cargo xtask bench`.
//!
//! `result name=NAME unit=UNIT ours=X limit=Y peer=Z` — `limit` and `peer` are `-` when
//! the case has none.

/// One figure of a case: ours, the raw limit's, and the peer's.
pub(crate) struct Figure {
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) ours: f64,
    pub(crate) limit: Option<f64>,
    pub(crate) peer: Option<f64>,
}

pub(crate) fn print(figure: &Figure) {
    let show = |value: Option<f64>| value.map_or("-".to_owned(), |v| format!("{v:.6}"));
    println!(
        "result name={} unit={} ours={:.6} limit={} peer={}",
        figure.name,
        figure.unit,
        figure.ours,
        show(figure.limit),
        show(figure.peer)
    );
}

/// A figure's name made at run time (the process prints a few dozen, then exits).
pub(crate) fn leak(name: String) -> &'static str {
    Box::leak(name.into_boxed_str())
}
