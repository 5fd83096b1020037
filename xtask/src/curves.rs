//! `cargo xtask bench --curves`: the cost curves (`aplex-bench/src/curves.rs` measures
//! them), drawn. Each curve's points are run `--runs` times and their medians written
//! to `target/bench/curves.json` and as SVG charts (plotters) under `target/bench/`;
//! then the checks that no curve bends upward: submit cost flat from 10⁴ to 10⁶ queued
//! works, a parent under 1 KiB per queued work, map throughput that flattens, not
//! falls, as workers outnumber cores, and a round trip that keeps pace with the raw
//! byte channel from 1 MiB up.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::figures::{medians, Figure};

/// One curve: its points `(x, y)` for each series.
struct Curve {
    file: &'static str,
    title: &'static str,
    x_label: &'static str,
    y_label: &'static str,
    log_x: bool,
    log_y: bool,
    series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Runs every curve `runs` times with `binary`; writes the JSON and the charts under
/// `target`.
pub(crate) fn run(binary: &Path, target: &Path, runs: usize, smoke: bool) -> Result<(), String> {
    let mut all = Vec::new();
    for curve in crate::bench::list(binary, "--list-curves")? {
        for run in 1..=runs {
            eprintln!("bench: {curve} (run {run}/{runs})");
            all.extend(crate::bench::run_case(binary, &curve, smoke)?);
        }
    }
    let figures = medians(&all);
    let out = target.join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot make {}: {e}", out.display()))?;
    let checks = checks(&figures);
    let json_path = out.join("curves.json");
    std::fs::write(&json_path, json(&figures, &checks))
        .map_err(|e| format!("cannot write {}: {e}", json_path.display()))?;
    for curve in curves(&figures) {
        draw(&curve, &out.join(curve.file))?;
    }
    println!("cost curves (medians of {runs} run(s)):");
    for figure in &figures {
        println!(
            "  {:<36} {:>14.2} {}",
            figure.name, figure.ours, figure.unit
        );
    }
    for (text, met) in &checks {
        println!("  check: {text}: {}", if *met { "yes" } else { "NO" });
    }
    eprintln!(
        "bench: wrote {} and the charts beside it",
        json_path.display()
    );
    Ok(())
}

/// The points of the figures named `<prefix><x>`, in order of x.
fn points(
    figures: &[Figure],
    prefix: &str,
    value: impl Fn(&Figure) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = figures
        .iter()
        .filter_map(|figure| {
            let x = figure.name.strip_prefix(prefix)?.parse::<f64>().ok()?;
            Some((x, value(figure)?))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

fn curves(figures: &[Figure]) -> Vec<Curve> {
    let ours = |figure: &Figure| Some(figure.ours);
    let limit = |figure: &Figure| figure.limit;
    vec![
        Curve {
            file: "curve_payload.svg",
            title: "process pool: echo round trip against payload size",
            x_label: "payload (bytes)",
            y_label: "round trip (µs)",
            log_x: true,
            log_y: true,
            series: vec![
                ("aplex".into(), points(figures, "curve_payload_", ours)),
                (
                    "raw ipc-channel byte channel".into(),
                    points(figures, "curve_payload_", limit),
                ),
            ],
        },
        Curve {
            file: "curve_pool_size.svg",
            title: "map of tiny works at chunksize 1 against pool size (2 cores)",
            x_label: "workers",
            y_label: "works/s",
            log_x: false,
            log_y: false,
            series: vec![
                (
                    "threads".into(),
                    points(figures, "curve_pool_size_thread_", ours),
                ),
                (
                    "processes".into(),
                    points(figures, "curve_pool_size_process_", ours),
                ),
            ],
        },
        Curve {
            file: "curve_queued.svg",
            title: "queued works: submit cost and parent memory per work",
            x_label: "queued works",
            y_label: "µs per submit, KiB per work",
            log_x: true,
            log_y: false,
            series: vec![
                (
                    "µs per submit".into(),
                    points(figures, "curve_queued_submit_", ours),
                ),
                (
                    "KiB per queued work".into(),
                    points(figures, "curve_queued_memory_", |f| Some(f.ours / 1024.0)),
                ),
            ],
        },
    ]
}

/// The checks that no curve bends upward, each with whether it holds.
fn checks(figures: &[Figure]) -> Vec<(String, bool)> {
    let ours = |figure: &Figure| Some(figure.ours);
    let mut checks = Vec::new();
    let submit = points(figures, "curve_queued_submit_", ours);
    if let (Some(first), Some(last)) = (submit.first(), submit.last()) {
        checks.push((
            format!(
                "submit cost flat: {:.2} µs at {} queued, {:.2} at {} (≤ 1.5 ×)",
                first.1, first.0, last.1, last.0
            ),
            last.1 <= 1.5 * first.1,
        ));
    }
    if let Some(last) = points(figures, "curve_queued_memory_", ours).last() {
        checks.push((
            format!("{:.0} bytes per queued work at {} (< 1024)", last.1, last.0),
            last.1 < 1024.0,
        ));
    }
    for kind in ["thread", "process"] {
        let curve = points(figures, &format!("curve_pool_size_{kind}_"), ours);
        let best_to_two = curve
            .iter()
            .filter(|(x, _)| *x <= 2.0)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        let worst_after = curve
            .iter()
            .filter(|(x, _)| *x > 2.0)
            .map(|p| p.1)
            .fold(f64::INFINITY, f64::min);
        if worst_after.is_finite() {
            checks.push((
                format!("{kind} map flattens past 2 workers: worst {worst_after:.0} against {best_to_two:.0} (≥ 0.8 ×)"),
                worst_after >= 0.8 * best_to_two,
            ));
        }
    }
    // Per byte, a round trip bends upward past the caches for any transport (the raw
    // byte channel's own cost per byte grows about 4 x from 1 MiB to 64 MiB here), so the
    // check is that ours keeps pace with the raw echo of the same bytes at every size.
    let against_raw = |figure: &Figure| Some(figure.ours / figure.limit?);
    let worst = points(figures, "curve_payload_", against_raw)
        .into_iter()
        .filter(|(bytes, _)| *bytes >= (1 << 20) as f64)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((bytes, ratio)) = worst {
        checks.push((
            format!(
                "round trip from 1 MiB up, against the raw byte channel: worst {ratio:.2} × at {bytes} bytes (≤ 1.5 ×)"
            ),
            ratio <= 1.5,
        ));
    }
    checks
}

fn json(figures: &[Figure], checks: &[(String, bool)]) -> String {
    let mut out = String::from("{\n  \"points\": [\n");
    for (i, figure) in figures.iter().enumerate() {
        let limit = figure.limit.map_or("null".into(), |v| format!("{v}"));
        let _ = write!(
            out,
            "    {{\"name\": \"{}\", \"unit\": \"{}\", \"ours\": {}, \"limit\": {limit}}}",
            figure.name, figure.unit, figure.ours
        );
        out.push_str(if i + 1 < figures.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ],\n  \"checks\": [\n");
    for (i, (text, met)) in checks.iter().enumerate() {
        let _ = write!(
            out,
            "    {{\"check\": \"{}\", \"met\": {met}}}",
            text.replace('"', "'")
        );
        out.push_str(if i + 1 < checks.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

fn draw(curve: &Curve, path: &PathBuf) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let all: Vec<(f64, f64)> = curve
        .series
        .iter()
        .flat_map(|(_, points)| points.clone())
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x_min, x_max) = bounds(all.iter().map(|p| p.0));
    let (y_min, y_max) = bounds(all.iter().map(|p| p.1));
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root);
    chart
        .caption(curve.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    let (x_log, y_log) = (
        (x_min..x_max * 1.1).log_scale(),
        (y_min * 0.9..y_max * 1.1).log_scale(),
    );
    let (x, y) = (0.0..x_max * 1.1, 0.0..y_max * 1.1);
    let drawn = match (curve.log_x, curve.log_y) {
        (true, true) => plot(
            chart
                .build_cartesian_2d(x_log, y_log)
                .map_err(|e| failed(&e))?,
            curve,
        ),
        (true, false) => plot(
            chart.build_cartesian_2d(x_log, y).map_err(|e| failed(&e))?,
            curve,
        ),
        (false, true) => plot(
            chart.build_cartesian_2d(x, y_log).map_err(|e| failed(&e))?,
            curve,
        ),
        (false, false) => plot(
            chart.build_cartesian_2d(x, y).map_err(|e| failed(&e))?,
            curve,
        ),
    };
    drawn.map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

/// Draws `curve`'s axes, series and legend on `chart`, whatever its x scale.
fn plot<'a, X, Y>(
    mut chart: ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    curve: &Curve,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(curve.x_label)
        .y_desc(curve.y_label)
        .draw()?;
    for ((name, points), color) in curve.series.iter().zip([BLUE, RED, GREEN]) {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, 0.0_f64), |(low, high), v| {
        (low.min(v), high.max(v))
    })
}
