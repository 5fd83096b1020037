//! The optional progress bar of a [`Map`](crate::Map) (feature `progress`, indicatif).

use indicatif::{ProgressBar, ProgressStyle};

/// A map's progress bar, if it asked for one.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Shows a bar of the input's length when it is known, a counter otherwise.
    pub(crate) fn enable(&mut self, size_hint: (usize, Option<usize>)) {
        let bar = match size_hint {
            (low, Some(high)) if low == high => ProgressBar::new(high as u64).with_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} works, {per_sec}, eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            ),
            _ => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {pos} works, {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        self.bar = Some(bar);
    }

    pub(crate) fn advance(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}
