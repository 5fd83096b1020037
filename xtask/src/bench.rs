//! `cargo xtask bench`: builds the bench binary in release, runs every case in its own
//! process `--runs` times, and reports the medians next to the raw limits, the peers and
//! the targets, as a table and optionally as JSON. `--peers python` runs Python aplex on
//! the same cases in the same runs (`python_peer.rs`); `--curves` measures and draws the
//! cost curves instead (`curves.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::figures::{medians, parse, Figure};
use crate::python_peer;
use crate::targets::judge;

struct Options {
    smoke: bool,
    runs: usize,
    json: Option<PathBuf>,
    python: bool,
    curves: bool,
    cases: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        smoke: false,
        runs: 3,
        json: None,
        python: false,
        curves: false,
        cases: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => options.smoke = true,
            "--curves" => options.curves = true,
            "--runs" => {
                let runs = args.next().ok_or("--runs needs a number")?;
                options.runs = runs
                    .parse()
                    .map_err(|_| format!("--runs: `{runs}` is not a number"))?;
            }
            "--json" => {
                options.json = Some(PathBuf::from(args.next().ok_or("--json needs a path")?))
            }
            "--peers" => {
                for peer in args
                    .next()
                    .ok_or("--peers needs a list: python")?
                    .split(',')
                {
                    match peer {
                        "python" => options.python = true,
                        other => return Err(format!("--peers: unknown peer `{other}` (python)")),
                    }
                }
            }
            case if !case.starts_with("--") => options.cases.push(case.to_owned()),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    if options.smoke {
        options.runs = 1;
    }
    if options.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(options)
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = options(args)?;
    let binary = build()?;
    // The remote cases run a real nats-server: provide it as `cargo xtask test` does.
    let server = crate::test::ensure_nats_server()?;
    std::env::set_var("APLEX_NATS_SERVER", &server);
    if options.curves {
        return crate::curves::run(&binary, &target_dir(), options.runs, options.smoke);
    }
    let cases = if options.cases.is_empty() {
        list(&binary, "--list")?
    } else {
        options.cases.clone()
    };
    let python = options
        .python
        .then(|| python_peer::prepare(&target_dir()))
        .flatten();
    let mut all = Vec::new();
    for case in &cases {
        for run in 1..=options.runs {
            eprintln!("bench: {case} (run {run}/{})", options.runs);
            all.extend(run_case(&binary, case, options.smoke)?);
            if let Some(python) = &python {
                match python_peer::run_case(python, case, options.smoke) {
                    Ok(figures) => all.extend(figures),
                    Err(error) => eprintln!("bench: {error}"),
                }
            }
        }
    }
    let mut figures = medians(&all);
    figures.extend(python_peer::versus(&figures));
    print!("{}", table(&figures, options.runs, options.smoke));
    if let Some(path) = &options.json {
        std::fs::write(path, json(&figures, options.runs, options.smoke))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "aplex-bench"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building aplex-bench failed".into());
    }
    Ok(target_dir().join("release").join("aplex-bench"))
}

/// The workspace's target directory.
fn target_dir() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from)
}

/// What `aplex-bench <flag>` lists: `--list` the cases, `--list-curves` the curves.
pub(crate) fn list(binary: &Path, flag: &str) -> Result<Vec<String>, String> {
    let output = Command::new(binary)
        .arg(flag)
        .output()
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// The figures of one run of `case`.
pub(crate) fn run_case(binary: &Path, case: &str, smoke: bool) -> Result<Vec<Figure>, String> {
    let mut command = Command::new(binary);
    command.arg(case);
    if smoke {
        command.arg("--smoke");
    }
    let output = command
        .output()
        .map_err(|e| format!("cannot run the bench: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "case {case} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let figures = parse(&String::from_utf8_lossy(&output.stdout));
    if figures.is_empty() {
        return Err(format!("case {case} printed no result"));
    }
    Ok(figures)
}

fn ratio(ours: f64, other: Option<f64>) -> String {
    other.map_or("-".into(), |other| format!("{:.2}", ours / other))
}

fn number(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn table(figures: &[Figure], runs: usize, smoke: bool) -> String {
    let mut out = String::new();
    let mode = if smoke {
        "smoke (tiny sizes: checks the harness, not the numbers)"
    } else {
        "full"
    };
    let _ = writeln!(
        out,
        "aplex bench: {mode}; medians of {runs} run(s); pool size 2\n"
    );
    let _ = writeln!(
        out,
        "{:<34} {:>8} {:>12} {:>7} {:>12} {:>12} {:>8} {:>8}  {:<32} met",
        "case", "unit", "ours", "spread", "limit", "peer", "/limit", "/peer", "target"
    );
    let (mut met, mut judged) = (0, 0);
    for figure in figures {
        let (target, ok) = judge(figure);
        if let Some(ok) = ok {
            judged += 1;
            met += usize::from(ok);
        }
        let _ = writeln!(
            out,
            "{:<34} {:>8} {:>12} {:>7} {:>12} {:>12} {:>8} {:>8}  {:<32} {}",
            figure.name,
            figure.unit,
            number(Some(figure.ours)),
            figure
                .spread()
                .map_or("-".into(), |spread| format!("±{:.0}%", spread * 100.0)),
            number(figure.limit),
            number(figure.peer),
            ratio(figure.ours, figure.limit),
            ratio(figure.ours, figure.peer),
            target,
            ok.map_or("-", |ok| if ok { "yes" } else { "NO" })
        );
    }
    let _ = writeln!(out, "\n{met} of {judged} targets met");
    out
}

fn json(figures: &[Figure], runs: usize, smoke: bool) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let revision = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"host\": {},", quote(host.trim()));
    let _ = writeln!(out, "  \"cpus\": {cpus},");
    let _ = writeln!(out, "  \"git_revision\": {},", quote(&revision));
    let _ = writeln!(out, "  \"date\": {},", quote(&utc_now()));
    let _ = writeln!(out, "  \"smoke\": {smoke},");
    let _ = writeln!(out, "  \"runs\": {runs},");
    out.push_str("  \"cases\": [\n");
    for (i, figure) in figures.iter().enumerate() {
        let (target, met) = judge(figure);
        let value = |v: Option<f64>| v.map_or("null".into(), |v| format!("{v}"));
        let _ = write!(
            out,
            "    {{\"name\": {}, \"unit\": {}, \"ours\": {}, \"ours_min\": {}, \"ours_max\": {}, \"limit\": {}, \"peer\": {}, \"target\": {}, \"met\": {}}}",
            quote(&figure.name),
            quote(&figure.unit),
            figure.ours,
            value(figure.ours_range.map(|(low, _)| low)),
            value(figure.ours_range.map(|(_, high)| high)),
            value(figure.limit),
            value(figure.peer),
            quote(&target),
            met.unwrap_or(true)
        );
        out.push_str(if i + 1 < figures.len() { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

fn quote(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if c.is_control() => vec![' '],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
