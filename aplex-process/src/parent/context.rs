//! `PoolContext`: the settings and state every slot of one process pool shares (how
//! to build a worker's runtime, the crash window, the timeout and recycling policies,
//! the initializer), made by the builder.

use crate::parent::crash_limit::CrashWindow;
use crate::protocol::wire::StartSettings;

/// Settings and state shared by every slot of one pool.
#[derive(Debug)]
pub(crate) struct PoolContext {
    /// What each worker process is started with (its runtime, its blocking limit).
    pub(crate) start: StartSettings,
    pub(crate) start_timeout: std::time::Duration,
    pub(crate) crashes: CrashWindow,
    /// Kill the process running a blocking work that runs out of time.
    pub(crate) kill_on_timeout: bool,
    /// Replace a process after it has been handed this many works.
    pub(crate) max_works_per_child: Option<usize>,
    /// The registered work each new process runs before it takes works.
    pub(crate) initializer: Option<(u32, &'static str)>,
}
