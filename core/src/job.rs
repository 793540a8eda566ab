//! The job model: kinds, states, phases, tasks and failure reasons.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::digest::{Challenge, Payload};
use crate::events::JobResult;
use crate::ids::{Attempt, JobId, PartitionId, ProgramId, WorkerId};
use crate::message::{Contribution, ExecutionSummary};
use crate::time::Instant;

/// What a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobKind {
    /// Execute, commit, prove and aggregate: the client gets a proof.
    Prove,
    /// Execute only: the client gets the public outputs and the cycle count.
    Execute,
}

impl JobKind {
    /// Lower-case name, used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Prove => "prove",
            JobKind::Execute => "execute",
        }
    }
}

/// The sub-phases of a running job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Phase 1: workers execute and commit their segments' traces.
    Contributions,
    /// Phase 2: workers prove their segments with the global challenge.
    Prove,
    /// Phase 3: every partial proof is in; the aggregator folds them.
    Aggregate,
    /// The single phase of an execute-only job.
    Execute,
}

impl Phase {
    /// Lower-case name, used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Contributions => "contributions",
            Phase::Prove => "prove",
            Phase::Aggregate => "aggregate",
            Phase::Execute => "execute",
        }
    }
}

/// Why a job failed; shown to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureReason {
    /// No capacity became free within the queue timeout.
    QueueTimeout,
    /// A phase ran past its timeout.
    PhaseTimeout(Phase),
    /// A partition failed more often than the retry budget allows.
    RetryBudgetExhausted {
        /// The partition.
        partition: PartitionId,
        /// The last failure's description.
        last_error: String,
    },
    /// The aggregator was lost or failed more often than the retry budget allows.
    AggregationBudgetExhausted {
        /// The last failure's description.
        last_error: String,
    },
    /// The execution is larger than `max_segments_per_job`.
    TooManySegments {
        /// Segments reported.
        segment_count: u32,
        /// The configured limit.
        max: u32,
    },
    /// The guest failed on this input (a deterministic fault: retrying cannot help).
    GuestFault {
        /// The fault as the worker reported it.
        message: String,
    },
    /// The program's setup was invalidated while the job ran.
    SetupInvalidated,
    /// The coordinator shut down before the job finished.
    Drained,
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::QueueTimeout => {
                f.write_str("no capacity became free within the queue timeout")
            }
            FailureReason::PhaseTimeout(phase) => write!(f, "phase {} timed out", phase.name()),
            FailureReason::RetryBudgetExhausted {
                partition,
                last_error,
            } => write!(
                f,
                "partition {} exhausted its retry budget; last error: {last_error}",
                partition.0
            ),
            FailureReason::AggregationBudgetExhausted { last_error } => {
                write!(
                    f,
                    "aggregation exhausted its retry budget; last error: {last_error}"
                )
            }
            FailureReason::TooManySegments { segment_count, max } => {
                write!(
                    f,
                    "execution has {segment_count} segments; the limit is {max}"
                )
            }
            FailureReason::GuestFault { message } => write!(f, "the guest failed: {message}"),
            FailureReason::SetupInvalidated => f.write_str("the program's setup was invalidated"),
            FailureReason::Drained => {
                f.write_str("the coordinator shut down before the job finished")
            }
        }
    }
}

/// Where a job is in its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Waiting in the FIFO queue for capacity.
    Queued,
    /// Capacity reserved, in a phase.
    Running(Phase),
    /// Finished with a result.
    Completed,
    /// Ended without a result.
    Failed(FailureReason),
    /// Cancelled by a client.
    Cancelled,
}

impl JobState {
    /// Whether the job has ended; a terminal job never changes again.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Failed(_) | JobState::Cancelled
        )
    }

    /// Lower-case name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running(_) => "running",
            JobState::Completed => "completed",
            JobState::Failed(_) => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// Lifecycle of one task (a partition's work in one phase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting for a worker.
    Pending,
    /// Sent to a worker, not yet acknowledged.
    Assigned,
    /// Acknowledged by the worker.
    Running,
    /// Result received and accepted.
    Completed,
    /// The worker failed or was lost; the task will be retried.
    Failed,
    /// The job was cancelled or failed.
    Cancelled,
}

/// One partition's work in the current phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    /// Lifecycle state.
    pub state: TaskState,
    /// The worker holding (or that completed) the task.
    pub worker: Option<WorkerId>,
    /// The attempt of the assignment that carries the task.
    pub attempt: Attempt,
}

impl Task {
    pub(crate) fn pending() -> Self {
        Task {
            state: TaskState::Pending,
            worker: None,
            attempt: Attempt(0),
        }
    }
}

/// A partial proof held by the coordinator until aggregation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldProof {
    /// The worker that produced it.
    pub producer: WorkerId,
    /// The producer's process incarnation (a re-registered worker is a new process).
    pub producer_incarnation: u64,
    /// The proof bytes.
    pub proof: Payload,
}

/// The elected aggregator of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregator {
    /// The worker.
    pub worker: WorkerId,
    /// The attempt fencing the aggregation.
    pub attempt: Attempt,
    /// Partitions whose proofs were sent to it.
    pub sent: BTreeSet<PartitionId>,
}

/// Everything the coordinator knows about one job.
#[derive(Clone, Debug)]
pub struct Job {
    /// The job's id.
    pub id: JobId,
    /// Prove or execute-only.
    pub kind: JobKind,
    /// The guest.
    pub program: ProgramId,
    /// Compute units asked for.
    pub requested_units: u32,
    /// Lifecycle state.
    pub state: JobState,
    /// When it was admitted.
    pub admitted_at: Instant,
    /// When the current phase began.
    pub phase_started_at: Instant,
    /// When it ended.
    pub finished_at: Option<Instant>,
    /// The reserved workers.
    pub workers: BTreeSet<WorkerId>,
    /// Partitions (one per reserved compute unit at start).
    pub partition_count: u32,
    /// Tasks of the current phase, by partition.
    pub tasks: BTreeMap<PartitionId, Task>,
    /// Failures so far, by partition (the retry budget).
    pub failures: BTreeMap<PartitionId, u32>,
    /// Aggregator losses and failures so far.
    pub aggregation_failures: u32,
    /// The execution summary every worker must agree on (set by the first contribution).
    pub summary: Option<ExecutionSummary>,
    /// Phase-1 results by partition, and who produced them.
    pub contributions: BTreeMap<PartitionId, (WorkerId, Vec<Contribution>)>,
    /// The global challenge, once derived.
    pub challenge: Option<Challenge>,
    /// Phase-2 proofs by partition.
    pub proofs: BTreeMap<PartitionId, HeldProof>,
    /// The current aggregator.
    pub aggregator: Option<Aggregator>,
    /// Workers found faulty during this job.
    pub faulty_workers: BTreeSet<WorkerId>,
    /// Times phase 1 started over because of a faulty contribution.
    pub restarts: u32,
    /// Workers that failed as aggregator for this job.
    pub failed_aggregators: BTreeSet<WorkerId>,
    /// The result, once completed.
    pub result: Option<JobResult>,
    /// Next attempt number to hand out.
    pub next_attempt: u32,
}

impl Job {
    pub(crate) fn new(
        id: JobId,
        kind: JobKind,
        program: ProgramId,
        units: u32,
        now: Instant,
    ) -> Self {
        Job {
            id,
            kind,
            program,
            requested_units: units,
            state: JobState::Queued,
            admitted_at: now,
            phase_started_at: now,
            finished_at: None,
            workers: BTreeSet::new(),
            partition_count: 0,
            tasks: BTreeMap::new(),
            failures: BTreeMap::new(),
            aggregation_failures: 0,
            summary: None,
            contributions: BTreeMap::new(),
            challenge: None,
            proofs: BTreeMap::new(),
            aggregator: None,
            failed_aggregators: BTreeSet::new(),
            faulty_workers: BTreeSet::new(),
            restarts: 0,
            result: None,
            next_attempt: 1,
        }
    }

    /// The running phase, if the job is running.
    pub fn phase(&self) -> Option<Phase> {
        match self.state {
            JobState::Running(phase) => Some(phase),
            _ => None,
        }
    }

    pub(crate) fn take_attempt(&mut self) -> Attempt {
        let attempt = Attempt(self.next_attempt);
        self.next_attempt += 1;
        attempt
    }

    /// Tasks of the current phase that are completed, and all of them.
    pub fn progress(&self) -> (u32, u32) {
        let done = self
            .tasks
            .values()
            .filter(|task| task.state == TaskState::Completed)
            .count();
        (done as u32, self.tasks.len() as u32)
    }

    pub(crate) fn all_tasks_completed(&self) -> bool {
        self.tasks
            .values()
            .all(|task| task.state == TaskState::Completed)
    }
}
