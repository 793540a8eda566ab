//! Everything the coordinator core asks its driver to do or to know: the [`Output`] queue.

use std::time::Duration;

use crate::digest::{Digest, Payload};
use crate::ids::{ConnectionId, JobId, PartitionId, ProgramId, WorkerId};
use crate::job::{FailureReason, JobKind, Phase};
use crate::message::{ExecutionSummary, ToWorker};

/// One instruction to the driver, taken with `poll_output` in order. A [`Output::Persist`]
/// precedes every message that depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Output {
    /// Write a record durably before carrying out any later output.
    Persist(Record),
    /// Send a message on a worker connection.
    Send {
        /// The connection to send on.
        connection: ConnectionId,
        /// The message.
        message: ToWorker,
    },
    /// Close a worker connection (after sending anything queued before this output).
    Close {
        /// The connection to close.
        connection: ConnectionId,
        /// Why, for the log.
        reason: String,
    },
    /// Tell the job's watchers.
    Job(JobEvent),
    /// Count something for `/metrics`.
    Metric(MetricEvent),
    /// Drain finished: no job is left running; the process may exit.
    DrainComplete,
}

/// A state change worth writing down. The coordinator keeps no state across restarts today;
/// the records exist so that a durable store can be added without changing the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A job was admitted to the queue.
    JobAdmitted {
        /// The job.
        job: JobId,
        /// Its kind.
        kind: JobKind,
        /// Its program.
        program: ProgramId,
    },
    /// A job reached a terminal state.
    JobFinished {
        /// The job.
        job: JobId,
        /// Its terminal state's name.
        outcome: &'static str,
    },
    /// A program's setup completed.
    ProgramReady {
        /// The program.
        program: ProgramId,
        /// Its verifying-key digest.
        verifying_key: Digest,
    },
}

/// Progress of one job, for clients watching it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobEvent {
    /// The job.
    pub job: JobId,
    /// What happened.
    pub kind: JobEventKind,
}

/// What happened to a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobEventKind {
    /// Admitted; waiting for capacity at this queue position (0 = next).
    Queued {
        /// Position in the queue.
        position: u32,
    },
    /// Capacity reserved; running on these workers.
    Started {
        /// The reserved workers.
        workers: Vec<WorkerId>,
        /// The job's partition count.
        partition_count: u32,
    },
    /// Entered a phase.
    PhaseChanged(Phase),
    /// Tasks of the current phase completed so far.
    Progress {
        /// The phase.
        phase: Phase,
        /// Completed tasks.
        done: u32,
        /// All tasks.
        total: u32,
    },
    /// Finished with a result.
    Completed(JobResult),
    /// Failed for a reason.
    Failed(FailureReason),
    /// Cancelled by a client.
    Cancelled,
}

/// What a completed job produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobResult {
    /// A prove job's final proof.
    Proof {
        /// The execution summary all workers agreed on.
        summary: ExecutionSummary,
        /// The final proof bytes.
        proof: Payload,
        /// The public output bytes.
        outputs: Payload,
    },
    /// An execute-only job's result.
    Execution {
        /// The execution summary.
        summary: ExecutionSummary,
        /// The public output bytes.
        outputs: Payload,
    },
}

/// Things worth counting; gauges are read from the core's getters instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricEvent {
    /// A result carried a fence that is not current and was not applied.
    StaleResultRejected,
    /// A result for work already completed was ignored.
    DuplicateResultIgnored,
    /// A message arrived on a connection that is not its worker's current one.
    StaleConnectionMessage,
    /// A worker fell silent past the heartbeat timeout.
    HeartbeatMissed {
        /// The worker.
        worker: WorkerId,
    },
    /// Partitions were moved to another worker.
    PartitionsReassigned {
        /// The job.
        job: JobId,
        /// How many partitions.
        count: u32,
    },
    /// A worker returned a result inconsistent with the others and was removed.
    WorkerFaulty {
        /// The worker.
        worker: WorkerId,
    },
    /// A registration was refused.
    RegistrationRefused,
    /// A phase of a job ended.
    PhaseCompleted {
        /// The phase.
        phase: Phase,
        /// How long it ran.
        duration: Duration,
    },
    /// A job reached a terminal state.
    JobFinished {
        /// Its kind.
        kind: JobKind,
        /// `completed`, `failed` or `cancelled`.
        outcome: &'static str,
        /// Time from admission to the end.
        duration: Duration,
    },
    /// A finished job was evicted after its TTL.
    JobEvicted,
    /// A partition's proof was rejected by the aggregator.
    ProofRejected {
        /// The partition.
        partition: PartitionId,
    },
}
