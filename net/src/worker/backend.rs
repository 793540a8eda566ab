//! [`ProvingBackend`]: what a worker needs from the zkVM. The worker adapter calls it on
//! blocking threads; the binaries supply the emulator implementation, simulations a model.

use std::time::Duration;

use zisk_core::{
    Challenge, Contribution, Digest, ExecutionSummary, Fence, JobId, PartitionId, Payload,
    ProgramId,
};
use zisk_proto::common::v1::Backend;

/// One job's guest and input, as a worker holds them.
#[derive(Clone, Copy, Debug)]
pub struct GuestRun<'a> {
    /// The job.
    pub job: JobId,
    /// The guest's id.
    pub program: ProgramId,
    /// The guest ELF.
    pub elf: &'a [u8],
    /// The job input.
    pub input: &'a [u8],
    /// Cycles per segment for this job (`0` = the prover's default).
    pub segment_cycles: u64,
}

/// An execution's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// What every worker must agree on.
    pub summary: ExecutionSummary,
    /// The public output bytes.
    pub outputs: Vec<u8>,
}

/// Phase-1 result of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionContribution {
    /// The partition.
    pub partition: PartitionId,
    /// The execution summary.
    pub summary: ExecutionSummary,
    /// One contribution per segment of the partition, ascending.
    pub contributions: Vec<Contribution>,
}

/// Phase-2 result of one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionProof {
    /// The partition.
    pub partition: PartitionId,
    /// The phase-1 commitments the proof is built on.
    pub contributions: Vec<Contribution>,
    /// The proof bytes.
    pub proof: Payload,
}

/// The aggregator's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregatedProof {
    /// The final proof bytes.
    pub proof: Payload,
    /// The public output bytes the proof attests.
    pub outputs: Vec<u8>,
}

/// Why a backend call failed. The text is what the coordinator and the client see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The capability is not built yet.
    #[error("{0}")]
    NotBuilt(String),
    /// The guest failed on this input (trap, cycle limit, oversized input).
    #[error("guest execution failed: {0}")]
    Execution(String),
    /// The ELF is not an acceptable guest.
    #[error("invalid guest ELF: {0}")]
    InvalidElf(String),
    /// The job's input file cannot be used (missing, too large, outside the inputs folder,
    /// or no folder configured). Every worker sharing the storage fails the same way.
    #[error("{0}")]
    Input(String),
    /// A proof failed verification.
    #[error("proof rejected: {0}")]
    ProofRejected(String),
    /// The backend lacks state it needs (for example phase-1 data of an unknown job).
    #[error("{0}")]
    Internal(String),
}

impl BackendError {
    /// Whether another attempt (on this or another worker) could succeed: a guest that traps,
    /// an ELF that is not acceptable or an unusable input file fails the same way everywhere.
    pub fn failure_kind(&self) -> zisk_core::FailureKind {
        match self {
            BackendError::Execution(_) | BackendError::InvalidElf(_) | BackendError::Input(_) => {
                zisk_core::FailureKind::GuestFault
            }
            BackendError::NotBuilt(_)
            | BackendError::ProofRejected(_)
            | BackendError::Internal(_) => zisk_core::FailureKind::Retryable,
        }
    }
}

/// The zkVM as a worker uses it. Every method is called on a blocking thread and may take
/// long; a panic becomes a failed task.
pub trait ProvingBackend: Send + Sync + 'static {
    /// Which backend this is (reported at registration).
    fn kind(&self) -> Backend;

    /// The program's verifying-key digest.
    ///
    /// # Errors
    /// An unacceptable ELF, or setup not available.
    fn setup(&self, program: ProgramId, elf: &[u8]) -> Result<Digest, BackendError>;

    /// Runs the guest to its end without proving.
    ///
    /// # Errors
    /// The guest failed.
    fn execute(&self, run: &GuestRun<'_>) -> Result<Execution, BackendError>;

    /// Phase 1: executes the guest and commits the traces of the segments of `partitions`
    /// (of `partition_count`), keeping what phase 2 needs.
    ///
    /// # Errors
    /// The guest failed, or proving is not available.
    fn contribute(
        &self,
        run: &GuestRun<'_>,
        partition_count: u32,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionContribution>, BackendError>;

    /// Phase 2: proves `partitions` from the phase-1 data of `job` under `challenge`.
    ///
    /// # Errors
    /// No phase-1 data, or proving is not available.
    fn prove(
        &self,
        job: JobId,
        challenge: &Challenge,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionProof>, BackendError>;

    /// Checks a partial proof given to this worker as aggregator.
    ///
    /// # Errors
    /// [`BackendError::ProofRejected`] when it does not verify.
    fn verify_partition(
        &self,
        job: JobId,
        partition: PartitionId,
        proof: &[u8],
    ) -> Result<(), BackendError>;

    /// Folds every partition's proof into the final proof.
    ///
    /// # Errors
    /// Aggregation is not available or failed.
    fn aggregate(
        &self,
        job: JobId,
        proofs: &[(PartitionId, Payload)],
    ) -> Result<AggregatedProof, BackendError>;

    /// Forgets everything kept for `job` (it ended or moved elsewhere).
    fn release(&self, job: JobId);

    /// How much longer than it really took `call`, which has just returned, is to be taken
    /// to have lasted. Real backends spend their time inside the calls and keep this default
    /// (zero). A modelled prover (the simulator's, in crate `zisk-sim`) returns its cost
    /// model's duration and the adapter waits it out on the runtime's clock before it reports
    /// the results: under madsim a blocking call cannot take simulated time any other way.
    fn modelled_duration(&self, call: &BackendCall) -> Duration {
        let _ = call;
        Duration::ZERO
    }
}

/// One backend call as the adapter made it, for [`ProvingBackend::modelled_duration`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendCall {
    /// Which method ran.
    pub kind: BackendCallKind,
    /// The work order's fence (`None` for a setup).
    pub fence: Option<Fence>,
    /// The program (set up, or run by the order); `None` for verify and aggregate.
    pub program: Option<ProgramId>,
    /// The partitions the call covered (empty for setup and execute).
    pub partitions: Vec<PartitionId>,
}

/// The [`ProvingBackend`] method behind a [`BackendCall`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BackendCallKind {
    /// [`ProvingBackend::setup`].
    Setup,
    /// [`ProvingBackend::execute`].
    Execute,
    /// [`ProvingBackend::contribute`].
    Contribute,
    /// [`ProvingBackend::prove`].
    Prove,
    /// [`ProvingBackend::contribute`] then [`ProvingBackend::prove`] (a reassigned partition).
    RedoAndProve,
    /// [`ProvingBackend::verify_partition`].
    Verify,
    /// [`ProvingBackend::aggregate`].
    Aggregate,
}
