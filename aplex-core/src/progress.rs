//! The optional progress bar of a [`Map`](crate::Map) (feature `progress`, indicatif):
//! works done out of the input's length (or a counter when it is unknown), throughput,
//! failures, and an ETA shown only once it means something; it ends on its own line.
//!
//! The ETA is the time left at the average rate so far, not indicatif's smoothed
//! estimate, which early in a short map extrapolates from a few slow first results
//! (77 s shown for a 0.3 s map): until a twentieth of the works or a quarter second is
//! behind, it says `eta –`.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike};

/// A map's progress bar, if it asked for one.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    failed: Arc<AtomicU64>,
    /// Where a bar drawn to a writer ends its last line (`None`: indicatif's stderr).
    writer: Option<LineWriter>,
}

impl Progress {
    /// Shows a bar of the input's length when it is known, a counter otherwise, on
    /// stderr (if it is a terminal) or on `writer`.
    pub(crate) fn enable(
        &mut self,
        size_hint: (usize, Option<usize>),
        writer: Option<Box<dyn Write + Send>>,
    ) {
        let failed = Arc::clone(&self.failed);
        let failures = move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
            let failed = failed.load(Ordering::Relaxed);
            if failed > 0 {
                let _ = write!(out, ", {failed} failed");
            }
        };
        let (bar, template) = match size_hint {
            (low, Some(high)) if low == high => (
                ProgressBar::with_draw_target(Some(high as u64), ProgressDrawTarget::hidden()),
                "{bar:40} {pos}/{len} works, {per_sec}{failed}, eta {average_eta}",
            ),
            _ => (
                ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()),
                "{spinner} {pos} works, {per_sec}{failed}",
            ),
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("failed", failures)
            .with_key(
                "average_eta",
                |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let left = state.len().map(|len| len.saturating_sub(state.pos()));
                    let _ = out.write_str(&eta(state.pos(), left, state.elapsed()));
                },
            );
        bar.set_style(style);
        match writer {
            Some(writer) => {
                let lines = LineWriter(Arc::new(Mutex::new(writer)));
                bar.set_draw_target(ProgressDrawTarget::term_like(Box::new(lines.clone())));
                self.writer = Some(lines);
            }
            None => bar.set_draw_target(ProgressDrawTarget::stderr()),
        }
        self.bar = Some(bar);
    }

    /// One more result; `failed` if it is an error.
    pub(crate) fn advance(&self, failed: bool) {
        if let Some(bar) = &self.bar {
            if failed {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            bar.inc(1);
        }
    }

    /// Draws the final state and ends its line.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
            if let Some(writer) = &self.writer {
                let _ = writer.write_line("");
            } else if !bar.is_hidden() {
                eprintln!();
            }
        }
    }
}

/// The time left at the average rate so far, or `–` while too little is behind to tell.
pub(crate) fn eta(done: u64, left: Option<u64>, elapsed: Duration) -> String {
    let Some(left) = left else {
        return "–".into();
    };
    let total = done + left;
    let enough = done > 0 && (done * 20 >= total || elapsed >= Duration::from_millis(250));
    if !enough {
        return "–".into();
    }
    let seconds = elapsed.as_secs_f64() * left as f64 / done as f64;
    match seconds {
        s if s < 1.0 => "0s".into(),
        s if s < 60.0 => format!("{}s", s.round() as u64),
        s if s < 3600.0 => format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64),
        s => format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        ),
    }
}

/// A progress bar drawn to a writer (a log, a test's buffer): each redraw rewrites the
/// line after a carriage return; cursor moves are dropped.
#[derive(Clone)]
struct LineWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl std::fmt::Debug for LineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LineWriter")
    }
}

impl LineWriter {
    fn write(&self, text: &str) -> io::Result<()> {
        let mut writer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        writer.write_all(text.as_bytes())
    }
}

impl TermLike for LineWriter {
    fn width(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, _n: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _n: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _n: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _n: usize) -> io::Result<()> {
        Ok(())
    }

    fn write_line(&self, line: &str) -> io::Result<()> {
        self.write(line)?;
        self.write("\n")
    }

    fn write_str(&self, text: &str) -> io::Result<()> {
        self.write(text)
    }

    fn clear_line(&self) -> io::Result<()> {
        self.write("\r")
    }

    fn flush(&self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_waits_until_enough_is_behind_then_uses_the_average_rate() {
        let ms = Duration::from_millis;
        assert_eq!(eta(0, Some(1000), ms(5)), "–");
        // Early in a short map: a few slow first results say nothing yet.
        assert_eq!(eta(3, Some(997), ms(40)), "–");
        assert_eq!(eta(500, Some(500), ms(150)), "0s");
        assert_eq!(eta(100, Some(900), Duration::from_secs(2)), "18s");
        assert_eq!(eta(10, Some(990), Duration::from_secs(30)), "49m30s");
        assert_eq!(eta(10, None, Duration::from_secs(30)), "–");
    }
}
