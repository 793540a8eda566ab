//! What one simulation run records: the event log (hashed for the determinism check), the
//! safety violations found, and the worker-side observations of the prover model.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use zisk_core::{Fence, JobId, WorkerId};
use zisk_net::worker::{BackendCall, BackendCallKind};

use crate::model::CallProbe;

/// Lines of the event log kept for a failure report.
const LOG_TAIL_LINES: usize = 400;

/// The event log of one run: every line is hashed; the last ones are kept for reports.
#[derive(Debug)]
pub struct EventLog {
    hash: Sha256,
    lines: u64,
    tail: VecDeque<String>,
    echo: bool,
}

impl EventLog {
    fn new(echo: bool) -> Self {
        EventLog {
            hash: Sha256::new(),
            lines: 0,
            tail: VecDeque::with_capacity(LOG_TAIL_LINES),
            echo,
        }
    }

    fn push(&mut self, line: String) {
        self.hash.update(line.as_bytes());
        self.hash.update(b"\n");
        self.lines += 1;
        if self.echo {
            eprintln!("{line}");
        }
        if self.tail.len() == LOG_TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Hex SHA-256 of every line so far.
    pub fn digest(&self) -> String {
        self.hash
            .clone()
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Lines so far.
    pub fn len(&self) -> u64 {
        self.lines
    }

    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    /// The last lines.
    pub fn tail(&self) -> impl Iterator<Item = &String> {
        self.tail.iter()
    }
}

/// One call a worker's prover is busy with.
#[derive(Clone, Debug)]
struct Busy {
    job: JobId,
    until_ms: u64,
    released: bool,
}

/// A worker's latest fenced prover call (what a zombie of it replays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastCall {
    /// The call's fence.
    pub fence: Fence,
    /// The partitions it covered.
    pub partitions: Vec<zisk_core::PartitionId>,
    /// The job's partition count, when the prover knew it.
    pub partition_count: u32,
}

/// Counts of what happened in a run, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Coordinator core steps observed.
    pub steps: u64,
    /// Stale-fenced results seen arriving at the core (and checked to change nothing).
    pub stale_results_checked: u64,
    /// Prover calls, by kind.
    pub calls: BTreeMap<String, u64>,
    /// The coordinator's metric events, by kind (which protocol paths ran).
    pub metrics: BTreeMap<String, u64>,
    /// Times a worker's prover still ran released (aborted) work of one job when work of
    /// another began: the GPU is oversubscribed, though the protocol is safe.
    pub overlapping_released_work: u64,
}

/// Everything a run records, shared by the harness, the coordinator observer and the models.
pub struct SimState {
    clock_ms: Box<dyn Fn() -> u64 + Send>,
    log: EventLog,
    violations: Vec<String>,
    aggregators: BTreeMap<Fence, WorkerId>,
    busy: BTreeMap<WorkerId, Vec<Busy>>,
    last_calls: BTreeMap<WorkerId, LastCall>,
    /// Counters for the report.
    pub tally: Tally,
    /// Simulated milliseconds at which the run finished.
    pub finished_ms: u64,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("log_lines", &self.log.len())
            .field("violations", &self.violations)
            .finish_non_exhaustive()
    }
}

/// A handle to a run's [`SimState`].
pub type Shared = Arc<Mutex<SimState>>;

impl SimState {
    /// A fresh record; `clock_ms` tells the simulated time, `echo` prints every log line.
    pub fn shared(clock_ms: Box<dyn Fn() -> u64 + Send>, echo: bool) -> Shared {
        Arc::new(Mutex::new(SimState {
            clock_ms,
            log: EventLog::new(echo),
            violations: Vec::new(),
            aggregators: BTreeMap::new(),
            busy: BTreeMap::new(),
            last_calls: BTreeMap::new(),
            tally: Tally::default(),
            finished_ms: 0,
        }))
    }

    /// Locks a shared state (a panic elsewhere does not hide what was recorded).
    pub fn lock(shared: &Shared) -> MutexGuard<'_, SimState> {
        shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Simulated milliseconds since the run began.
    pub fn now_ms(&self) -> u64 {
        (self.clock_ms)()
    }

    /// Appends a line to the event log, stamped with the simulated time.
    pub fn log(&mut self, line: impl AsRef<str>) {
        let line = format!("{:>9} {}", self.now_ms(), line.as_ref());
        self.log.push(line);
    }

    /// Records a broken invariant (and logs it).
    pub fn violation(&mut self, what: impl Into<String>) {
        let what = what.into();
        self.log(format!("VIOLATION {what}"));
        self.violations.push(what);
    }

    /// The broken invariants so far.
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// The event log.
    pub fn event_log(&self) -> &EventLog {
        &self.log
    }

    /// Worker `worker`'s latest fenced prover call.
    pub fn last_call(&self, worker: &WorkerId) -> Option<LastCall> {
        self.last_calls.get(worker).cloned()
    }

    fn on_call(
        &mut self,
        worker: &WorkerId,
        call: &BackendCall,
        partition_count: u32,
        duration: Duration,
    ) {
        let now = self.now_ms();
        let fence = call.fence;
        let name = format!("{:?}", call.kind);
        *self.tally.calls.entry(name.clone()).or_default() += 1;
        self.log(format!(
            "call {worker} {name} {} parts={:?} {}ms",
            fence.map_or_else(|| "-".to_owned(), |fence| fence.to_string()),
            call.partitions.iter().map(|p| p.0).collect::<Vec<_>>(),
            duration.as_millis()
        ));
        let Some(fence) = fence else {
            return;
        };
        if matches!(
            call.kind,
            BackendCallKind::Contribute | BackendCallKind::Prove | BackendCallKind::RedoAndProve
        ) {
            self.last_calls.insert(
                worker.clone(),
                LastCall {
                    fence,
                    partitions: call.partitions.clone(),
                    partition_count,
                },
            );
        }
        // At most one aggregator per job attempt: an aggregation fence is handed to one worker.
        if matches!(
            call.kind,
            BackendCallKind::Verify | BackendCallKind::Aggregate
        ) {
            let holder = self
                .aggregators
                .entry(fence)
                .or_insert_with(|| worker.clone())
                .clone();
            if holder != *worker {
                self.violation(format!(
                    "two aggregators for {fence}: {holder} and {worker}"
                ));
            }
        }
        // No worker works on two jobs: when work of one job begins, the worker's prover runs
        // no unreleased work of another.
        let busy = self.busy.entry(worker.clone()).or_default();
        busy.retain(|item| item.until_ms > now);
        let mut clash = None;
        let mut overlap = false;
        for item in busy.iter().filter(|item| item.job != fence.job) {
            if item.released {
                overlap = true;
            } else {
                clash = Some(item.job);
            }
        }
        busy.push(Busy {
            job: fence.job,
            until_ms: now + duration.as_millis() as u64,
            released: false,
        });
        if overlap {
            self.tally.overlapping_released_work += 1;
        }
        if let Some(other) = clash {
            self.violation(format!(
                "worker {worker} works on job {other} and job {} at once",
                fence.job
            ));
        }
    }

    fn on_release(&mut self, worker: &WorkerId, job: JobId) {
        self.log(format!("release {worker} {job}"));
        if let Some(busy) = self.busy.get_mut(worker) {
            for item in busy.iter_mut().filter(|item| item.job == job) {
                item.released = true;
            }
        }
    }

    /// A worker process died: its prover stops with it.
    pub fn worker_died(&mut self, worker: &WorkerId) {
        self.busy.remove(worker);
    }

    /// The workers whose prover is busy now.
    pub fn busy_workers(&self) -> BTreeSet<WorkerId> {
        let now = self.now_ms();
        self.busy
            .iter()
            .filter(|(_, items)| items.iter().any(|item| item.until_ms > now))
            .map(|(worker, _)| worker.clone())
            .collect()
    }
}

/// The [`CallProbe`] that records into a run's [`SimState`].
#[derive(Clone, Debug)]
pub struct StateProbe(pub Shared);

impl CallProbe for StateProbe {
    fn call(
        &self,
        worker: &WorkerId,
        call: &BackendCall,
        partition_count: u32,
        duration: Duration,
    ) {
        SimState::lock(&self.0).on_call(worker, call, partition_count, duration);
    }

    fn release(&self, worker: &WorkerId, job: JobId) {
        SimState::lock(&self.0).on_release(worker, job);
    }
}
