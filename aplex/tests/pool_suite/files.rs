//! Gates and marks as files: a work holds until its gate file exists, and leaves a mark
//! file to say it ran; both cross from parent to worker process and back.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{scratch_dir, wait_until, ScratchDir};

/// A scratch directory of gates and marks, one per test (named after the test's module
/// path and numbered, so no two tests running at once share one).
pub(crate) struct Files {
    dir: ScratchDir,
}

impl Files {
    pub(crate) fn new(module: &str) -> Self {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let number = MADE.fetch_add(1, Ordering::Relaxed);
        Files {
            dir: scratch_dir(&format!("{}-{number}", module.replace("::", "-"))),
        }
    }

    /// The path of the file called `name`.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Opens gate `name`: every work holding at it goes on.
    pub(crate) fn open(&self, name: &str) {
        std::fs::write(self.path(name), b"").expect("the gate file is written");
    }

    /// Whether mark `name` exists.
    pub(crate) fn marked(&self, name: &str) -> bool {
        self.path(name).exists()
    }

    /// Waits (with the common patience) until mark `name` exists.
    pub(crate) fn wait_for(&self, name: &str) {
        wait_until(&format!("mark {name} exists"), || self.marked(name));
    }

    /// The lines of file `name` (empty if it does not exist).
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        read_lines(&self.path(name))
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}
