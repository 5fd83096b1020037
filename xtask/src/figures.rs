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
    /// The lowest and highest of `ours` over the runs, when there were several.
    pub(crate) ours_range: Option<(f64, f64)>,
}

impl Figure {
    /// How far the runs of `ours` spread about its median: half the range, as a
    /// fraction of the median.
    pub(crate) fn spread(&self) -> Option<f64> {
        let (low, high) = self.ours_range?;
        (self.ours != 0.0).then(|| (high - low) / 2.0 / self.ours.abs())
    }
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
                ours_range: None,
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
                ours_range: range(all.iter().map(|f| f.ours)),
                name,
            }
        })
        .collect()
}

/// The lowest and highest of several `values`; `None` for fewer than two.
fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let values: Vec<f64> = values.collect();
    (values.len() > 1).then(|| {
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    })
}

fn median(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    let mut values: Vec<f64> = values.flatten().collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_runs_give_the_median_and_the_spread_of_ours() {
        let runs = parse(
            "result name=a unit=us ours=10 limit=5 peer=-\n\
             result name=a unit=us ours=14 limit=6 peer=-\n\
             result name=a unit=us ours=12 limit=7 peer=-\n",
        );
        let figures = medians(&runs);
        assert_eq!(figures.len(), 1);
        assert_eq!(figures[0].ours, 12.0);
        assert_eq!(figures[0].limit, Some(6.0));
        assert_eq!(figures[0].ours_range, Some((10.0, 14.0)));
        let spread = figures[0].spread().unwrap();
        assert!(
            (spread - 2.0 / 12.0).abs() < 1e-9,
            "half the range over the median"
        );
        assert_eq!(
            medians(&runs[..1])[0].spread(),
            None,
            "one run has no spread"
        );
    }
}
