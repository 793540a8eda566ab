//! Messages of the worker plane as the core sees them. Adapters convert them to and from the
//! protobuf types; the core never sees generated code.

use crate::digest::{Challenge, Digest, Payload};
use crate::ids::{Epoch, Fence, Generation, JobId, PartitionId, ProgramId, SegmentIndex, WorkerId};

/// What a worker's phase-1 work returns for one segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// The segment this contribution commits.
    pub segment: SegmentIndex,
    /// Merkle root of the segment's main traces (deterministic: redoing it gives the same).
    pub commitment: Digest,
}

/// What every worker must agree on about one execution of a job's guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionSummary {
    /// Number of fixed-size segments the execution splits into (at least one).
    pub segment_count: u32,
    /// Executed instructions.
    pub cycles: u64,
    /// Hash of the public outputs.
    pub outputs_digest: Digest,
}

/// Whether a failed task is worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The worker failed (resources, panic, missing state): another attempt may succeed.
    Retryable,
    /// The guest itself failed on this input (trap, cycle limit, invalid ELF): every worker
    /// would fail the same way, so the job fails at once with the fault.
    GuestFault,
}

/// What a reconnecting worker is told to do with the work it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconnectDirective {
    /// The assignment is still current: go on; results are accepted.
    KeepComputing {
        /// The job to keep computing.
        job: JobId,
    },
    /// The job ended or moved elsewhere while the worker was away: drop it.
    CancelStaleJob {
        /// The job to drop.
        job: JobId,
    },
    /// Nothing is assigned: wait for work.
    Idle,
}

/// Why a registration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationRefusal {
    /// The pool already holds `max_total_workers`.
    PoolFull {
        /// The configured limit.
        max_total_workers: u32,
    },
    /// The advertised compute units are zero or above the limit.
    InvalidComputeUnits {
        /// The advertised value.
        advertised: u32,
        /// The configured maximum.
        max: u32,
    },
    /// The worker speaks another protocol version.
    ProtocolVersion {
        /// The worker's version.
        worker: u32,
        /// The coordinator's version.
        coordinator: u32,
    },
    /// The worker id is empty or too long.
    InvalidWorkerId,
    /// The coordinator is draining and accepts no new workers.
    Draining,
}

/// Messages the coordinator sends to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToWorker {
    /// Registration (or reconnection) accepted.
    Registered {
        /// The worker's id, echoed.
        worker: WorkerId,
        /// This connection's generation for the worker.
        generation: Generation,
        /// The coordinator's incarnation.
        epoch: Epoch,
        /// How often to send heartbeats, in milliseconds.
        heartbeat_interval_ms: u64,
    },
    /// Registration refused; the connection is closed after this message.
    Refused(RegistrationRefusal),
    /// What to do with the work held across a reconnection.
    Directive(ReconnectDirective),
    /// Run the setup of a program (the adapter attaches the ELF).
    Setup {
        /// The program to set up.
        program: ProgramId,
    },
    /// Phase 1: execute the job's guest and commit the traces of these partitions' segments.
    AssignContributions {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
        /// Partitions of this job.
        partition_count: u32,
        /// The partitions assigned to this worker.
        partitions: Vec<PartitionId>,
    },
    /// Phase 2: prove the partitions committed in phase 1 with the global challenge.
    StartProve {
        /// The assignment's fence.
        fence: Fence,
        /// The global challenge.
        challenge: Challenge,
        /// The partitions to prove (those of this worker that own segments).
        partitions: Vec<PartitionId>,
    },
    /// Phase 2 for partitions taken over from another worker: redo their phase 1 (the
    /// commitments must equal `expected`), then prove them.
    AssignProve {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
        /// Partitions of this job.
        partition_count: u32,
        /// The partitions to redo and prove.
        partitions: Vec<PartitionId>,
        /// The global challenge.
        challenge: Challenge,
        /// The phase-1 contributions recorded for those partitions.
        expected: Vec<Contribution>,
    },
    /// Phase 3: this worker aggregates the job's partial proofs.
    BecomeAggregator {
        /// The aggregation's fence.
        fence: Fence,
        /// Every partition whose proof goes into the aggregation tree.
        partitions: Vec<PartitionId>,
    },
    /// One partial proof for the aggregator.
    AggregateProof {
        /// The aggregation's fence.
        fence: Fence,
        /// Which partition the proof covers.
        partition: PartitionId,
        /// The proof bytes.
        proof: Payload,
    },
    /// Execute the guest only and report its summary.
    AssignExecute {
        /// The assignment's fence.
        fence: Fence,
        /// The guest.
        program: ProgramId,
    },
    /// Answer to a heartbeat, so that the worker can tell a silent coordinator.
    HeartbeatAck,
    /// Stop all work on a job.
    Cancel {
        /// The job to stop.
        job: JobId,
    },
}

/// Messages a worker sends to the coordinator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FromWorker {
    /// First message of a fresh worker process.
    Register {
        /// Stable worker id.
        worker: WorkerId,
        /// Advertised compute units.
        compute_units: u32,
        /// Protocol version.
        protocol_version: u32,
    },
    /// First message of a worker process that lost its stream and dialled again.
    Reconnect {
        /// Stable worker id.
        worker: WorkerId,
        /// Advertised compute units.
        compute_units: u32,
        /// Protocol version.
        protocol_version: u32,
        /// The assignment the worker still holds, if any.
        held: Option<Fence>,
    },
    /// Liveness signal (any message counts as one).
    Heartbeat,
    /// A program setup finished.
    SetupDone {
        /// The program.
        program: ProgramId,
        /// The verifying-key digest, or why setup failed.
        result: Result<Digest, String>,
    },
    /// The worker started on an assignment.
    Accepted {
        /// The assignment's fence.
        fence: Fence,
    },
    /// Phase-1 result of one partition.
    Contributed {
        /// The assignment's fence.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// The execution summary the worker saw.
        summary: ExecutionSummary,
        /// One contribution per owned segment, ascending.
        contributions: Vec<Contribution>,
    },
    /// Phase-2 result of one partition.
    Proved {
        /// The assignment's fence.
        fence: Fence,
        /// The partition.
        partition: PartitionId,
        /// The phase-1 commitments the proof was built on, ascending by segment.
        contributions: Vec<Contribution>,
        /// The partition's proof bytes.
        proof: Payload,
    },
    /// The aggregator found a partial proof invalid.
    ProofRejected {
        /// The aggregation's fence.
        fence: Fence,
        /// The partition whose proof failed verification.
        partition: PartitionId,
        /// Why.
        reason: String,
    },
    /// The final aggregated proof.
    Aggregated {
        /// The aggregation's fence.
        fence: Fence,
        /// The final proof bytes.
        proof: Payload,
        /// The public output bytes the proof attests (the adapter checks them against the
        /// agreed outputs digest).
        outputs: Payload,
    },
    /// Result of an execute-only job.
    Executed {
        /// The assignment's fence.
        fence: Fence,
        /// What the execution produced.
        summary: ExecutionSummary,
        /// The public output bytes.
        outputs: Payload,
    },
    /// The worker is draining: it finishes what it holds and takes no new work.
    Draining,
    /// The worker could not do an assignment.
    Failed {
        /// The assignment's fence.
        fence: Fence,
        /// Why.
        reason: String,
        /// Whether another attempt can succeed.
        kind: FailureKind,
    },
}

impl FromWorker {
    /// The fence a result carries, if it is a result.
    pub fn fence(&self) -> Option<&Fence> {
        match self {
            FromWorker::Accepted { fence }
            | FromWorker::Contributed { fence, .. }
            | FromWorker::Proved { fence, .. }
            | FromWorker::ProofRejected { fence, .. }
            | FromWorker::Aggregated { fence, .. }
            | FromWorker::Executed { fence, .. }
            | FromWorker::Failed { fence, .. } => Some(fence),
            _ => None,
        }
    }
}
