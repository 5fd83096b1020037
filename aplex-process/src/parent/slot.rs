//! `Slot`: the parent's state for one worker position, shared by the executor's calls
//! and the slot's supervisor thread.
//!
//! A slot outlives the processes that fill it. It keeps the works in flight (by id, with
//! the completer that decodes each reply into its future), the queue of the current
//! process's writer thread, and an outbox for frames sent while no process is attached
//! (between a crash and the respawn), which the next process receives first.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::parent::context::PoolContext;
use crate::parent::exit_status;
use crate::parent::in_flight::InFlight;
use crate::parent::job::{settle, Completer, ProcessJob};
use crate::protocol::batch_writer::BatchWriter;
use crate::protocol::coalesce::Coalesce;
use crate::protocol::wire::{DownFrame, UpFrame};
use aplex_core::backend::{id_map::IdMap, Begin, CloseMode, WaitHelp, WorkerEvents};
use aplex_core::Error;

mod outgoing;
#[cfg(test)]
mod tests;

/// How long past its deadline a join waits for the killed process's reaping (`Drop` returns).
const KILLED_REAP_LIMIT: Duration = Duration::from_secs(10);

/// Why the current process is on its way out, to be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retiring {
    /// It reached `max_works_per_child` and was asked to drain and exit.
    Recycle,
    /// The pool killed it: a work there ran out of time and could not be aborted.
    Kill,
}

#[derive(Default)]
struct SlotState {
    /// Run frames dispatched since the last flush.
    staged: Vec<DownFrame>,
    writer: Option<BatchWriter<DownFrame>>,
    pid: Option<u32>,
    in_flight: InFlight,
    /// The `Begin` handles of the blocking works in flight (see `aplex_core::Begin`):
    /// committed when their frame leaves, begun when the process says so.
    begins: IdMap<u64, Begin>,
    outbox: Vec<DownFrame>,
    close: Option<CloseMode>,
    stopped: bool,
    /// Works handed to the current process.
    handed: usize,
    /// The current process is on its way out: new works wait for its replacement.
    retiring: Option<Retiring>,
    /// The pool is shutting down: a process that crashes is not replaced.
    no_respawn: bool,
    /// The lowest work id not dispatched here yet (ids reach a slot in increasing order:
    /// the executor numbers and dispatches each under its queue lock).
    next_id: u64,
    /// A work cancelled between the executor marking it running and its `dispatch`
    /// here: the cancel found nothing to stop, so the dispatch refuses it.
    cancelled_ahead: Option<u64>,
    /// Where to report works withdrawn at commit (the slot's index and events).
    reporter: Option<(usize, Arc<dyn WorkerEvents>)>,
    /// The current process's replies, offered to a caller that sent a lone work itself
    /// (`replies.rs`).
    wait_help: Option<Weak<dyn WaitHelp>>,
}

/// One worker position of a process pool.
pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) events: Arc<dyn WorkerEvents>,
    pub(crate) context: Arc<PoolContext>,
    state: Mutex<SlotState>,
    stopped: Condvar,
    /// Processes that have filled this slot after the first.
    pub(crate) restarts: AtomicU64,
    /// Processes replaced because they reached `max_works_per_child`.
    pub(crate) recycles: AtomicU64,
}

impl Slot {
    /// Slot `index`, to be filled first by the process `pid` (already started,
    /// `prestart.rs`): works dispatched before it serves wait in the outbox.
    pub(crate) fn new(
        index: usize,
        events: Arc<dyn WorkerEvents>,
        context: Arc<PoolContext>,
        pid: u32,
    ) -> Self {
        let reporter = Some((index, Arc::clone(&events)));
        Slot {
            index,
            events,
            context,
            state: Mutex::new(SlotState {
                pid: Some(pid),
                reporter,
                ..SlotState::default()
            }),
            stopped: Condvar::new(),
            restarts: AtomicU64::new(0),
            recycles: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When this slot's writer waits for more frames (`in_flight.rs`).
    pub(crate) fn coalesce(&self) -> Coalesce {
        self.lock().in_flight.coalesce()
    }

    /// The pid of the process filling the slot now, if any.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.lock().pid
    }

    /// Stages `job` as work `id`; gives it back if the slot has stopped, or if the work
    /// was cancelled on its way here (the executor then drops it: nothing runs).
    pub(crate) fn dispatch(&self, id: u64, job: ProcessJob) -> Result<(), ProcessJob> {
        let mut state = self.lock();
        state.next_id = id + 1;
        if let Some(cancelled) = state.cancelled_ahead.take_if(|cancelled| *cancelled <= id) {
            if cancelled == id {
                return Err(job);
            }
        }
        if state.stopped {
            return Err(job);
        }
        state.in_flight.insert(id, job.complete);
        let report_begin = match job.begin {
            Some(begin) => {
                let report = begin.times_from_begin();
                state.begins.insert(id, begin);
                report
            }
            None => false,
        };
        if state.staged.capacity() == 0 {
            // One frame for a lone submit's batch, not the four a `Vec` starts with.
            state.staged.reserve_exact(1);
        }
        state.staged.push(DownFrame::Run {
            id,
            work: job.work,
            args: job.args,
            report_begin,
        });
        if state.retiring.is_none() {
            state.handed += 1;
            let limit = self.context.max_works_per_child;
            if limit.is_some_and(|limit| state.handed >= limit) && state.writer.is_some() {
                // Hand over what is staged, then ask the process to drain and exit.
                state.send(None);
                state.retiring = Some(Retiring::Recycle);
                state.send(Some(DownFrame::Close { abort: false }));
            }
        }
        Ok(())
    }

    /// Why the process that just exited was retiring, if it was (to be replaced rather
    /// than counted as a crash).
    pub(crate) fn retired_as(&self) -> Option<Retiring> {
        self.lock().retiring
    }

    /// Sends the frames staged by `dispatch` as one batch.
    pub(crate) fn flush(&self) {
        self.lock().send(None);
    }

    /// Stops work `id`: if its `Run` frame has not been sent yet (staged, or waiting in
    /// the outbox for a new process), it is withdrawn and never runs; otherwise the
    /// process is sent a `Cancel`. A work not dispatched here yet (the cancel raced its
    /// dispatch) is refused when it comes.
    pub(crate) fn cancel(&self, id: u64) {
        let mut state = self.lock();
        if !state.in_flight.contains_key(&id) {
            if id >= state.next_id {
                state.cancelled_ahead = Some(id);
            }
            return;
        }
        let unsent =
            |frame: &DownFrame| matches!(frame, DownFrame::Run { id: run, .. } if *run == id);
        let waiting = state.staged.len() + state.outbox.len();
        state.staged.retain(|frame| !unsent(frame));
        state.outbox.retain(|frame| !unsent(frame));
        if state.staged.len() + state.outbox.len() == waiting {
            state.send(Some(DownFrame::Cancel { id }));
            return;
        }
        let completer = state.in_flight.remove(&id);
        state.begins.remove(&id);
        drop(state);
        if let Some(completer) = completer {
            completer.complete(Err(Error::Cancelled));
            self.events.work_finished(self.index);
        }
    }

    /// Kills the process running work `id`, if it is still in flight here. Works
    /// dispatched from now on wait for the replacement; the killed process's other works
    /// fail with `WorkerCrashed`.
    pub(crate) fn kill_running(&self, id: u64) {
        let mut state = self.lock();
        let sent = !state
            .staged
            .iter()
            .chain(&state.outbox)
            .any(|frame| matches!(frame, DownFrame::Run { id: run, .. } if *run == id));
        if let (true, true, Some(pid)) = (state.in_flight.contains_key(&id), sent, state.pid) {
            // Staged frames now go to the outbox, for the replacement.
            state.retiring = Some(Retiring::Kill);
            state.send(None);
            exit_status::kill(pid);
        }
    }

    pub(crate) fn close(&self, mode: CloseMode) {
        let mut state = self.lock();
        if state.stopped || state.close == Some(CloseMode::Abort) {
            return;
        }
        state.close = Some(mode);
        state.send(Some(DownFrame::Close {
            abort: mode == CloseMode::Abort,
        }));
    }

    /// The pool began to shut down: a process that crashes from now on is not replaced.
    pub(crate) fn stop_respawning(&self) {
        self.lock().no_respawn = true;
    }

    /// Whether a crashed process is still to be replaced.
    pub(crate) fn respawns(&self) -> bool {
        !self.lock().no_respawn
    }

    /// How the slot has been asked to close, if it has.
    pub(crate) fn close_mode(&self) -> Option<CloseMode> {
        self.lock().close
    }

    /// Whether works wait here for the next process (the replacement of a retired one).
    pub(crate) fn has_waiting_works(&self) -> bool {
        let state = self.lock();
        state
            .outbox
            .iter()
            .chain(&state.staged)
            .any(|frame| matches!(frame, DownFrame::Run { .. }))
    }

    /// Whether the slot is to stop rather than start another process: it was asked to
    /// abort, or to drain with no work left waiting for a process (a drain runs the
    /// works that wait for a retired process's replacement, which gets the close).
    pub(crate) fn stops_now(&self) -> bool {
        match self.close_mode() {
            Some(CloseMode::Abort) => true,
            Some(CloseMode::Drain) => !self.has_waiting_works(),
            None => false,
        }
    }

    /// Waits until the slot has stopped; at `deadline`, kills its process and waits for
    /// the supervisor to reap it, giving up (false) [`KILLED_REAP_LIMIT`] later.
    pub(crate) fn join(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        while !state.stopped {
            let wait = match deadline {
                None => Duration::MAX,
                Some(deadline) if deadline.elapsed() > KILLED_REAP_LIMIT => return false,
                Some(deadline) if deadline > Instant::now() => {
                    deadline.saturating_duration_since(Instant::now())
                }
                // Past the deadline: kill whatever process fills the slot, again and
                // again, so one that is just being started is killed too.
                Some(_) => {
                    if let Some(pid) = state.pid {
                        exit_status::kill(pid);
                    }
                    Duration::from_millis(10)
                }
            };
            state = self
                .stopped
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// A new process fills the slot: frames queued meanwhile (and a pending close) go to
    /// it; `wait_help` reads its replies for callers that wait (`replies.rs`).
    pub(crate) fn attach(
        &self,
        pid: u32,
        writer: BatchWriter<DownFrame>,
        wait_help: Option<Weak<dyn WaitHelp>>,
    ) {
        let mut state = self.lock();
        state.pid = Some(pid);
        state.wait_help = wait_help;
        state.retiring = None;
        // The new process gets the works that waited for it (the outbox, and those staged
        // since the old one left: flushed later, uncounted, they overran the limit — a map
        // under load handed one process 53 works with 7), up to its own limit; the rest
        // keep waiting for the process after it.
        let limit = self.context.max_works_per_child.unwrap_or(usize::MAX);
        let (mut frames, mut keep, mut runs) = (Vec::new(), Vec::new(), 0);
        let staged = std::mem::take(&mut state.staged);
        for frame in std::mem::take(&mut state.outbox).into_iter().chain(staged) {
            match frame {
                DownFrame::Run { .. } if runs >= limit => keep.push(frame),
                DownFrame::Run { .. } => {
                    runs += 1;
                    frames.push(frame);
                }
                other => frames.push(other),
            }
        }
        state.outbox = keep;
        state.handed = runs;
        if runs >= limit {
            state.retiring = Some(Retiring::Recycle);
            frames.push(DownFrame::Close { abort: false });
        }
        if let Some(mode) = state.close {
            frames.push(DownFrame::Close {
                abort: mode == CloseMode::Abort,
            });
        }
        let frames = state.commit(frames);
        if !frames.is_empty() {
            let _ = writer.send(frames, false);
        }
        state.writer = Some(writer);
    }

    /// The process is gone: detach it and take every work it had (those waiting for the
    /// replacement of a retiring one stay).
    pub(crate) fn detach(&self) -> Vec<Completer> {
        let mut state = self.lock();
        state.writer = None;
        state.pid = None;
        state.wait_help = None;
        if state.retiring.is_none() {
            state.outbox.clear();
            state.staged.clear();
            state.begins.clear();
            return state
                .in_flight
                .drain()
                .map(|(_, completer)| completer)
                .collect();
        }
        // Retired: the works waiting for the replacement stay; only what the old process
        // held (nothing if it drained as asked) is lost.
        let staged = std::mem::take(&mut state.staged);
        state.outbox.extend(staged);
        let waiting: std::collections::HashSet<u64> = state
            .outbox
            .iter()
            .filter_map(|frame| match frame {
                DownFrame::Run { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        let lost: Vec<u64> = state
            .in_flight
            .keys()
            .copied()
            .filter(|id| !waiting.contains(id))
            .collect();
        for id in &lost {
            state.begins.remove(id);
        }
        lost.iter()
            .filter_map(|id| state.in_flight.remove(id))
            .collect()
    }

    /// Resolves the works a lost process had, and releases their workload.
    pub(crate) fn fail(&self, lost: Vec<Completer>, error: &Error) {
        for completer in lost {
            settle(completer, Err(error.clone()));
            self.events.work_finished(self.index);
        }
    }

    /// Hands replies to their works.
    pub(crate) fn complete(&self, frames: Vec<UpFrame>) {
        let mut begun = Vec::new();
        let mut events = Vec::new();
        let (pid, finished): (_, Vec<_>) = {
            let mut state = self.lock();
            let pid = state.pid;
            let finished = frames
                .into_iter()
                .filter_map(|frame| match frame {
                    UpFrame::Done { id, outcome } => {
                        if !state.begins.is_empty() {
                            state.begins.remove(&id);
                        }
                        Some((state.in_flight.remove(&id)?, outcome))
                    }
                    UpFrame::Began { id } => {
                        begun.extend(state.begins.remove(&id));
                        None
                    }
                    UpFrame::Event(event) => {
                        events.push(event);
                        None
                    }
                    // Taken by the supervisor before; nothing to do here.
                    UpFrame::Release { .. } => None,
                })
                .collect();
            (pid, finished)
        };
        for event in events {
            event.emit(self.index, pid);
        }
        // Outside the slot's lock: beginning schedules the work's deferred timeout.
        for begin in begun {
            begin.begin();
        }
        for (completer, outcome) in finished {
            settle(completer, outcome.map_err(Error::from));
            self.events.work_finished(self.index);
        }
    }

    /// No process will fill the slot again: fail what is left with `error`, wake joiners.
    pub(crate) fn stop(&self, error: &Error) {
        let lost = {
            let mut state = self.lock();
            state.stopped = true;
            state.writer = None;
            state.pid = None;
            state.wait_help = None;
            state.outbox.clear();
            state.staged.clear();
            state.begins.clear();
            state
                .in_flight
                .drain()
                .map(|(_, completer)| completer)
                .collect()
        };
        self.fail(lost, error);
        self.stopped.notify_all();
    }
}
