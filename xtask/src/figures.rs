//! Figures as the bench binary prints them, and their medians over several runs.

use std::collections::BTreeMap;

/// One figure of one run: ours, the raw limit's and the peer's.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) ours: f64,
    pub(crate) limit: Option<f64>,
    pub(crate) peer: Option<f64>,
}

/// Parses `result name=.. unit=.. ours=.. limit=.. peer=..` lines.
pub(crate) fn parse(output: &str) -> Vec<Figure> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("result "))
        .filter_map(|rest| {
            let fields: BTreeMap<&str, &str> = rest
                .split_whitespace()
                .filter_map(|field| field.split_once('='))
                .collect();
            let number = |key: &str| fields.get(key).and_then(|value| value.parse::<f64>().ok());
            Some(Figure {
                name: fields.get("name")?.to_string(),
                unit: fields.get("unit")?.to_string(),
                ours: number("ours")?,
                limit: number("limit"),
                peer: number("peer"),
            })
        })
        .collect()
}

/// The median of each figure over its runs, in first-seen order.
pub(crate) fn medians(runs: &[Figure]) -> Vec<Figure> {
    let mut order: Vec<String> = Vec::new();
    let mut by_name: BTreeMap<String, Vec<&Figure>> = BTreeMap::new();
    for figure in runs {
        if !by_name.contains_key(&figure.name) {
            order.push(figure.name.clone());
        }
        by_name.entry(figure.name.clone()).or_default().push(figure);
    }
    order
        .into_iter()
        .map(|name| {
            let all = &by_name[&name];
            Figure {
                unit: all[0].unit.clone(),
                ours: median(all.iter().map(|f| Some(f.ours))).unwrap_or(f64::NAN),
                limit: median(all.iter().map(|f| f.limit)),
                peer: median(all.iter().map(|f| f.peer)),
                name,
            }
        })
        .collect()
}

fn median(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut values: Vec<f64> = values.flatten().collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}
