//! The prover model: what stands in for the zkVM in simulations.
//!
//! Real proving is never run in a simulation. A [`ModelBackend`] implements the worker's
//! [`ProvingBackend`] with pure functions of the job's input that have the *shape* of the real
//! results, and a cost model that makes every call take simulated time:
//!
//! - **Input.** A job's input is a [`Guest`] (16 bytes): how many segments the execution
//!   splits into, cycles per segment, and a salt that makes each job's results unique.
//! - **Execution.** The summary is `(segments, segments * cycles_per_segment,
//!   SHA-256(outputs))` and the public outputs are 8 bytes derived from the program and the
//!   input, so every honest worker agrees and the adapter's output check holds.
//! - **Phase 1.** Each segment's commitment is a hash of (program, input, segment): redoing it
//!   on another worker gives the same root, as the protocol requires.
//! - **Challenge.** [`ModelChallenge`] hashes the program, verifying key, summary and every
//!   contribution (the coordinator's [`ChallengeDerivation`]).
//! - **Phase 2.** A partition proof ([`partition_proof`]) binds the job, the partition, the
//!   challenge, the partition's commitments and the outputs, and ends with a MAC. The
//!   aggregator's [`ProvingBackend::verify_partition`] checks its shape, job, partition and
//!   MAC; a worker whose hardware is set to corrupt proofs breaks the MAC, so the aggregator
//!   rejects them as it would reject a bad STARK.
//! - **Aggregation.** The final proof ([`final_proof`]) binds the job, the partition count,
//!   the outputs and every partition proof in order. [`expected_final_proof`] recomputes it
//!   from the input alone: a completed job's proof is checked against it.
//! - **Cost.** [`CostModel`] charges milliseconds per segment for execution, commitment and
//!   proving, and per proof for verification and aggregation, multiplied by the worker's
//!   [`Hardware`] speed factor (a slow GPU has a factor above 1). The adapter waits the
//!   modelled time out on the simulated clock ([`ProvingBackend::modelled_duration`]). A
//!   stalled GPU is modelled by pausing the worker's node.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use zisk_core::partition::segments_of_partition;
use zisk_core::{
    Challenge, ChallengeDerivation, Contribution, Digest, ExecutionSummary, JobId, PartitionId,
    Payload, ProgramId, SegmentIndex, WorkerId,
};
use zisk_net::worker::{
    AggregatedProof, BackendCall, BackendCallKind, BackendError, Execution, GuestRun,
    PartitionContribution, PartitionProof, ProvingBackend,
};
use zisk_proto::common::v1::Backend;

/// A modelled guest run: what a job's input encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guest {
    /// Segments the execution splits into (at least 1).
    pub segments: u32,
    /// Cycles per segment.
    pub cycles_per_segment: u32,
    /// Makes each job's outputs and commitments unique.
    pub salt: u64,
}

impl Guest {
    /// Length of an encoded guest input.
    pub const INPUT_BYTES: usize = 16;

    /// The job input that describes this run.
    pub fn encode(&self) -> Vec<u8> {
        let mut input = Vec::with_capacity(Self::INPUT_BYTES);
        input.extend_from_slice(&self.segments.to_le_bytes());
        input.extend_from_slice(&self.cycles_per_segment.to_le_bytes());
        input.extend_from_slice(&self.salt.to_le_bytes());
        input
    }

    /// Reads a job input.
    ///
    /// # Errors
    /// The input is not an encoded guest (a guest fault: every worker fails the same way).
    pub fn decode(input: &[u8]) -> Result<Guest, BackendError> {
        let bytes: [u8; Self::INPUT_BYTES] = input.try_into().map_err(|_| {
            BackendError::Execution(format!(
                "modelled guest input must be {} bytes, got {}",
                Self::INPUT_BYTES,
                input.len()
            ))
        })?;
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let guest = Guest {
            segments: word(0),
            cycles_per_segment: word(4),
            salt: u64::from_le_bytes([
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14],
                bytes[15],
            ]),
        };
        if guest.segments == 0 {
            return Err(BackendError::Execution(
                "modelled guest with zero segments".to_owned(),
            ));
        }
        Ok(guest)
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// The modelled verifying-key digest of a program.
pub fn verifying_key(program: &ProgramId) -> Digest {
    Digest(sha256(&[b"zisk-sim-vk", &program.0]))
}

/// The public outputs of a run.
pub fn outputs(program: &ProgramId, input: &[u8]) -> Vec<u8> {
    sha256(&[b"zisk-sim-outputs", &program.0, input])[..8].to_vec()
}

/// The execution summary of a run.
pub fn summary(program: &ProgramId, guest: &Guest, input: &[u8]) -> ExecutionSummary {
    ExecutionSummary {
        segment_count: guest.segments,
        cycles: u64::from(guest.segments) * u64::from(guest.cycles_per_segment),
        outputs_digest: Digest(Sha256::digest(outputs(program, input)).into()),
    }
}

/// The phase-1 commitment of one segment (deterministic: any worker computes the same).
pub fn commitment(program: &ProgramId, input: &[u8], segment: SegmentIndex) -> Digest {
    Digest(sha256(&[
        b"zisk-sim-commitment",
        &program.0,
        input,
        &segment.0.to_le_bytes(),
    ]))
}

/// The contributions of one partition, ascending by segment.
pub fn contributions(
    program: &ProgramId,
    input: &[u8],
    segments: u32,
    partition: PartitionId,
    partition_count: u32,
) -> Vec<Contribution> {
    segments_of_partition(partition, partition_count, segments)
        .map(|segment| Contribution {
            segment,
            commitment: commitment(program, input, segment),
        })
        .collect()
}

/// The coordinator's challenge derivation in simulations.
#[derive(Clone, Copy, Debug, Default)]
pub struct ModelChallenge;

impl ChallengeDerivation for ModelChallenge {
    fn derive(
        &self,
        program: &ProgramId,
        verifying_key: &Digest,
        summary: &ExecutionSummary,
        contributions: &[Contribution],
    ) -> Challenge {
        let mut hash = Sha256::new();
        hash.update(b"zisk-sim-challenge");
        hash.update(program.0);
        hash.update(verifying_key.0);
        hash.update(summary.segment_count.to_le_bytes());
        hash.update(summary.cycles.to_le_bytes());
        hash.update(summary.outputs_digest.0);
        for contribution in contributions {
            hash.update(contribution.segment.0.to_le_bytes());
            hash.update(contribution.commitment.0);
        }
        Challenge(hash.finalize().to_vec().into())
    }
}

const PARTITION_PROOF_TAG: &[u8; 4] = b"ZSP1";
const FINAL_PROOF_TAG: &[u8; 4] = b"ZSF1";

fn contributions_digest(contributions: &[Contribution]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for contribution in contributions {
        hash.update(contribution.segment.0.to_le_bytes());
        hash.update(contribution.commitment.0);
    }
    hash.finalize().into()
}

/// A partition proof: tag, job, partition, partition count, challenge digest, commitments
/// digest, outputs, MAC.
pub fn partition_proof(
    job: JobId,
    partition: PartitionId,
    partition_count: u32,
    challenge: &Challenge,
    contributions: &[Contribution],
    outputs: &[u8],
) -> Payload {
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(PARTITION_PROOF_TAG);
    bytes.extend_from_slice(&job.0.to_le_bytes());
    bytes.extend_from_slice(&partition.0.to_le_bytes());
    bytes.extend_from_slice(&partition_count.to_le_bytes());
    bytes.extend_from_slice(&sha256(&[&challenge.0]));
    bytes.extend_from_slice(&contributions_digest(contributions));
    bytes.push(outputs.len() as u8);
    bytes.extend_from_slice(outputs);
    let mac = sha256(&[b"zisk-sim-mac", &bytes]);
    bytes.extend_from_slice(&mac);
    bytes.into()
}

/// What [`verify_partition_proof`] reads from a valid partition proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionProofView {
    /// The job it proves.
    pub job: JobId,
    /// The partition it proves.
    pub partition: PartitionId,
    /// The job's partition count.
    pub partition_count: u32,
    /// The public outputs it attests.
    pub outputs: Vec<u8>,
}

/// Checks a partition proof's shape and MAC.
///
/// # Errors
/// What is wrong with it.
pub fn verify_partition_proof(proof: &[u8]) -> Result<PartitionProofView, String> {
    let fixed = 4 + 16 + 4 + 4 + 32 + 32 + 1;
    if proof.len() < fixed + 32 || &proof[..4] != PARTITION_PROOF_TAG {
        return Err("not a modelled partition proof".to_owned());
    }
    let outputs_len = proof[fixed - 1] as usize;
    if proof.len() != fixed + outputs_len + 32 {
        return Err("partition proof has the wrong length".to_owned());
    }
    let (body, mac) = proof.split_at(fixed + outputs_len);
    if sha256(&[b"zisk-sim-mac", body]) != mac {
        return Err("partition proof MAC does not verify".to_owned());
    }
    let mut job = [0u8; 16];
    job.copy_from_slice(&body[4..20]);
    let word = |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    Ok(PartitionProofView {
        job: JobId(u128::from_le_bytes(job)),
        partition: PartitionId(word(20)),
        partition_count: word(24),
        outputs: body[fixed..].to_vec(),
    })
}

/// The final proof: tag, job, partition count, outputs, digest of every partition proof in
/// partition order, MAC.
pub fn final_proof(
    job: JobId,
    partition_count: u32,
    outputs: &[u8],
    proofs: &[(PartitionId, Payload)],
) -> Payload {
    let mut sorted: Vec<&(PartitionId, Payload)> = proofs.iter().collect();
    sorted.sort_by_key(|(partition, _)| *partition);
    let mut hash = Sha256::new();
    for (partition, proof) in sorted {
        hash.update(partition.0.to_le_bytes());
        hash.update((proof.len() as u64).to_le_bytes());
        hash.update(proof);
    }
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(FINAL_PROOF_TAG);
    bytes.extend_from_slice(&job.0.to_le_bytes());
    bytes.extend_from_slice(&partition_count.to_le_bytes());
    bytes.push(outputs.len() as u8);
    bytes.extend_from_slice(outputs);
    bytes.extend_from_slice(&hash.finalize());
    let mac = sha256(&[b"zisk-sim-final-mac", &bytes]);
    bytes.extend_from_slice(&mac);
    bytes.into()
}

/// What [`verify_final_proof`] reads from a valid final proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalProofView {
    /// The job it proves.
    pub job: JobId,
    /// The job's partition count.
    pub partition_count: u32,
    /// The public outputs it attests.
    pub outputs: Vec<u8>,
}

/// Checks a final proof's shape and MAC.
///
/// # Errors
/// What is wrong with it.
pub fn verify_final_proof(proof: &[u8]) -> Result<FinalProofView, String> {
    let fixed = 4 + 16 + 4 + 1;
    if proof.len() < fixed || &proof[..4] != FINAL_PROOF_TAG {
        return Err("not a modelled final proof".to_owned());
    }
    let outputs_len = proof[fixed - 1] as usize;
    if proof.len() != fixed + outputs_len + 32 + 32 {
        return Err("final proof has the wrong length".to_owned());
    }
    let (body, mac) = proof.split_at(fixed + outputs_len + 32);
    if sha256(&[b"zisk-sim-final-mac", body]) != mac {
        return Err("final proof MAC does not verify".to_owned());
    }
    let mut job = [0u8; 16];
    job.copy_from_slice(&body[4..20]);
    Ok(FinalProofView {
        job: JobId(u128::from_le_bytes(job)),
        partition_count: u32::from_le_bytes([body[20], body[21], body[22], body[23]]),
        outputs: body[fixed..fixed + outputs_len].to_vec(),
    })
}

/// The final proof an honest cluster produces for `job` with `partition_count` partitions,
/// recomputed from the input alone (the reference a completed job is checked against).
///
/// # Errors
/// The input is not an encoded guest.
pub fn expected_final_proof(
    job: JobId,
    program: &ProgramId,
    input: &[u8],
    partition_count: u32,
) -> Result<Payload, BackendError> {
    let guest = Guest::decode(input)?;
    let summary = summary(program, &guest, input);
    let outputs = outputs(program, input);
    let mut all = Vec::new();
    let mut by_partition = Vec::new();
    for partition in (0..partition_count).map(PartitionId) {
        let own = contributions(program, input, guest.segments, partition, partition_count);
        if !own.is_empty() {
            by_partition.push((partition, own.clone()));
        }
        all.extend(own);
    }
    all.sort_by_key(|contribution| contribution.segment);
    let challenge = ModelChallenge.derive(program, &verifying_key(program), &summary, &all);
    let proofs: Vec<(PartitionId, Payload)> = by_partition
        .iter()
        .map(|(partition, own)| {
            (
                *partition,
                partition_proof(job, *partition, partition_count, &challenge, own, &outputs),
            )
        })
        .collect();
    Ok(final_proof(job, partition_count, &outputs, &proofs))
}

/// Milliseconds each kind of work costs on a worker of speed factor 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostModel {
    /// A program setup.
    pub setup_ms: u64,
    /// Executing one segment (execute-only jobs, and the execution behind phase 1).
    pub execute_per_segment_ms: u64,
    /// Building and committing one owned segment's traces (phase 1).
    pub commit_per_segment_ms: u64,
    /// Proving one owned segment (phase 2).
    pub prove_per_segment_ms: u64,
    /// Verifying one partition proof (aggregator).
    pub verify_ms: u64,
    /// Folding one partition proof into the final proof (aggregator).
    pub aggregate_per_proof_ms: u64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            setup_ms: 300,
            execute_per_segment_ms: 20,
            commit_per_segment_ms: 150,
            prove_per_segment_ms: 400,
            verify_ms: 30,
            aggregate_per_proof_ms: 25,
        }
    }
}

impl CostModel {
    /// Modelled milliseconds of `kind` over `segments` segments of which `owned` are the
    /// call's own (for verify and aggregate, `owned` counts proofs), at speed factor 1.
    pub fn base_ms(&self, kind: BackendCallKind, segments: u64, owned: u64) -> u64 {
        let execute = self.execute_per_segment_ms * segments;
        let commit = execute + self.commit_per_segment_ms * owned;
        let prove = self.prove_per_segment_ms * owned;
        match kind {
            BackendCallKind::Setup => self.setup_ms,
            BackendCallKind::Execute => execute.max(1),
            BackendCallKind::Contribute => commit.max(1),
            BackendCallKind::Prove => prove.max(1),
            BackendCallKind::RedoAndProve => (commit + prove).max(1),
            BackendCallKind::Verify => self.verify_ms,
            BackendCallKind::Aggregate => self.aggregate_per_proof_ms * owned.max(1),
        }
    }
}

/// A worker machine's modelled hardware, shared by every process the node runs (it survives
/// a SIGKILL and restart). The harness changes it while the simulation runs.
#[derive(Debug)]
pub struct Hardware {
    /// Speed factor in thousandths: 1000 = nominal, 5000 = a GPU five times slower.
    speed_milli: AtomicU64,
    /// Whether the GPU produces partition proofs that do not verify.
    corrupt_proofs: AtomicBool,
}

impl Default for Hardware {
    fn default() -> Self {
        Hardware {
            speed_milli: AtomicU64::new(1000),
            corrupt_proofs: AtomicBool::new(false),
        }
    }
}

impl Hardware {
    /// The speed factor in thousandths.
    pub fn speed_milli(&self) -> u64 {
        self.speed_milli.load(Ordering::Relaxed)
    }

    /// Sets the speed factor in thousandths (at least 1).
    pub fn set_speed_milli(&self, speed_milli: u64) {
        self.speed_milli
            .store(speed_milli.max(1), Ordering::Relaxed);
    }

    /// Whether partition proofs come out corrupt.
    pub fn corrupt_proofs(&self) -> bool {
        self.corrupt_proofs.load(Ordering::Relaxed)
    }

    /// Makes partition proofs come out corrupt (or sound again).
    pub fn set_corrupt_proofs(&self, corrupt: bool) {
        self.corrupt_proofs.store(corrupt, Ordering::Relaxed);
    }
}

/// Receives every call a [`ModelBackend`] serves, for the harness's checks and event log.
pub trait CallProbe: Send + Sync + 'static {
    /// `worker` made `call` (for a job of `partition_count` partitions, 0 when unknown),
    /// which is modelled to take `duration` from now.
    fn call(&self, worker: &WorkerId, call: &BackendCall, partition_count: u32, duration: Duration);
    /// `worker` released what it kept for `job`.
    fn release(&self, worker: &WorkerId, job: JobId);
}

/// A probe that records nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProbe;

impl CallProbe for NoProbe {
    fn call(&self, _: &WorkerId, _: &BackendCall, _: u32, _: Duration) {}
    fn release(&self, _: &WorkerId, _: JobId) {}
}

#[derive(Clone, Debug)]
struct JobModel {
    program: ProgramId,
    input: Vec<u8>,
    segments: u32,
    partition_count: u32,
}

/// The prover model one worker process runs (see the module docs).
pub struct ModelBackend {
    worker: WorkerId,
    hardware: Arc<Hardware>,
    cost: CostModel,
    probe: Arc<dyn CallProbe>,
    /// Phase-1 data kept for phase 2, by job (lost with the process, as a real worker's).
    jobs: Mutex<BTreeMap<JobId, JobModel>>,
}

impl ModelBackend {
    /// A fresh worker process's prover.
    pub fn new(
        worker: WorkerId,
        hardware: Arc<Hardware>,
        cost: CostModel,
        probe: Arc<dyn CallProbe>,
    ) -> Self {
        ModelBackend {
            worker,
            hardware,
            cost,
            probe,
            jobs: Mutex::new(BTreeMap::new()),
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, BTreeMap<JobId, JobModel>> {
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn owned_segments(&self, job: Option<JobId>, partitions: &[PartitionId]) -> (u64, u64) {
        let Some(model) = job.and_then(|job| self.jobs().get(&job).cloned()) else {
            return (1, partitions.len() as u64);
        };
        let owned = partitions
            .iter()
            .filter(|partition| partition.0 < model.partition_count)
            .map(|partition| {
                segments_of_partition(*partition, model.partition_count, model.segments).count()
                    as u64
            })
            .sum();
        (u64::from(model.segments), owned)
    }
}

impl ProvingBackend for ModelBackend {
    fn kind(&self) -> Backend {
        Backend::Emulator
    }

    fn setup(&self, program: ProgramId, _elf: &[u8]) -> Result<Digest, BackendError> {
        Ok(verifying_key(&program))
    }

    fn execute(&self, run: &GuestRun<'_>) -> Result<Execution, BackendError> {
        let guest = Guest::decode(run.input)?;
        self.jobs().insert(
            run.job,
            JobModel {
                program: run.program,
                input: run.input.to_vec(),
                segments: guest.segments,
                partition_count: 1,
            },
        );
        Ok(Execution {
            summary: summary(&run.program, &guest, run.input),
            outputs: outputs(&run.program, run.input),
        })
    }

    fn contribute(
        &self,
        run: &GuestRun<'_>,
        partition_count: u32,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionContribution>, BackendError> {
        let guest = Guest::decode(run.input)?;
        if partition_count == 0 || partitions.iter().any(|p| p.0 >= partition_count) {
            return Err(BackendError::Internal(format!(
                "partitions {partitions:?} out of range for {partition_count}"
            )));
        }
        self.jobs().insert(
            run.job,
            JobModel {
                program: run.program,
                input: run.input.to_vec(),
                segments: guest.segments,
                partition_count,
            },
        );
        let summary = summary(&run.program, &guest, run.input);
        Ok(partitions
            .iter()
            .map(|partition| PartitionContribution {
                partition: *partition,
                summary: summary.clone(),
                contributions: contributions(
                    &run.program,
                    run.input,
                    guest.segments,
                    *partition,
                    partition_count,
                ),
            })
            .collect())
    }

    fn prove(
        &self,
        job: JobId,
        challenge: &Challenge,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionProof>, BackendError> {
        let Some(model) = self.jobs().get(&job).cloned() else {
            return Err(BackendError::Internal(format!(
                "no phase-1 data for job {job}"
            )));
        };
        let outputs = outputs(&model.program, &model.input);
        let corrupt = self.hardware.corrupt_proofs();
        Ok(partitions
            .iter()
            .map(|partition| {
                let own = contributions(
                    &model.program,
                    &model.input,
                    model.segments,
                    *partition,
                    model.partition_count,
                );
                let mut proof = partition_proof(
                    job,
                    *partition,
                    model.partition_count,
                    challenge,
                    &own,
                    &outputs,
                );
                if corrupt {
                    let mut bytes = proof.to_vec();
                    if let Some(last) = bytes.last_mut() {
                        *last ^= 0x5a;
                    }
                    proof = bytes.into();
                }
                PartitionProof {
                    partition: *partition,
                    contributions: own,
                    proof,
                }
            })
            .collect())
    }

    fn verify_partition(
        &self,
        job: JobId,
        partition: PartitionId,
        proof: &[u8],
    ) -> Result<(), BackendError> {
        let view = verify_partition_proof(proof).map_err(BackendError::ProofRejected)?;
        if view.job != job || view.partition != partition {
            return Err(BackendError::ProofRejected(format!(
                "proof of job {} partition {} given as job {job} partition {}",
                view.job, view.partition.0, partition.0
            )));
        }
        Ok(())
    }

    fn aggregate(
        &self,
        job: JobId,
        proofs: &[(PartitionId, Payload)],
    ) -> Result<AggregatedProof, BackendError> {
        let mut first: Option<PartitionProofView> = None;
        for (partition, proof) in proofs {
            let view = verify_partition_proof(proof).map_err(BackendError::ProofRejected)?;
            if view.job != job || view.partition != *partition {
                return Err(BackendError::ProofRejected(format!(
                    "proof of partition {} filed under partition {}",
                    view.partition.0, partition.0
                )));
            }
            match &first {
                None => first = Some(view),
                Some(first)
                    if first.outputs != view.outputs
                        || first.partition_count != view.partition_count =>
                {
                    return Err(BackendError::Internal(
                        "partition proofs attest different executions".to_owned(),
                    ));
                }
                Some(_) => {}
            }
        }
        let first = first.ok_or_else(|| BackendError::Internal("no proofs".to_owned()))?;
        Ok(AggregatedProof {
            proof: final_proof(job, first.partition_count, &first.outputs, proofs),
            outputs: first.outputs,
        })
    }

    fn release(&self, job: JobId) {
        self.jobs().remove(&job);
        self.probe.release(&self.worker, job);
    }

    fn modelled_duration(&self, call: &BackendCall) -> Duration {
        let job = call.fence.map(|fence| fence.job);
        let (segments, owned) = match call.kind {
            BackendCallKind::Verify | BackendCallKind::Aggregate => {
                (0, call.partitions.len() as u64)
            }
            _ => self.owned_segments(job, &call.partitions),
        };
        let base_ms = self.cost.base_ms(call.kind, segments, owned);
        let duration = Duration::from_micros(base_ms * self.hardware.speed_milli());
        let partition_count = job
            .and_then(|job| self.jobs().get(&job).map(|model| model.partition_count))
            .unwrap_or(0);
        self.probe
            .call(&self.worker, call, partition_count, duration);
        duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program() -> ProgramId {
        ProgramId([3; 32])
    }

    #[test]
    fn an_honest_proof_verifies_and_a_corrupted_one_does_not() {
        let challenge = Challenge(vec![1, 2, 3].into());
        let proof = partition_proof(JobId(9), PartitionId(2), 4, &challenge, &[], b"out");
        let view = verify_partition_proof(&proof).unwrap();
        assert_eq!((view.job, view.partition), (JobId(9), PartitionId(2)));
        let mut bad = proof.to_vec();
        bad[30] ^= 1;
        assert!(verify_partition_proof(&bad).is_err());
    }

    #[test]
    fn a_guest_round_trips_through_its_input() {
        let guest = Guest {
            segments: 7,
            cycles_per_segment: 1 << 20,
            salt: 42,
        };
        assert_eq!(Guest::decode(&guest.encode()).unwrap(), guest);
        assert!(Guest::decode(&[0; 3]).is_err());
    }

    #[test]
    fn the_model_backend_produces_the_expected_final_proof() {
        let guest = Guest {
            segments: 5,
            cycles_per_segment: 100,
            salt: 1,
        };
        let input = guest.encode();
        let job = JobId(77);
        let backend = ModelBackend::new(
            WorkerId::from("w"),
            Arc::new(Hardware::default()),
            CostModel::default(),
            Arc::new(NoProbe),
        );
        let run = GuestRun {
            job,
            program: program(),
            elf: b"elf",
            input: &input,
            segment_cycles: 0,
        };
        let partition_count = 3;
        let partitions: Vec<PartitionId> = (0..partition_count).map(PartitionId).collect();
        let contributed = backend
            .contribute(&run, partition_count, &partitions)
            .unwrap();
        let mut all: Vec<Contribution> = contributed
            .iter()
            .flat_map(|c| c.contributions.clone())
            .collect();
        all.sort_by_key(|c| c.segment);
        let challenge = ModelChallenge.derive(
            &program(),
            &verifying_key(&program()),
            &contributed[0].summary,
            &all,
        );
        let proofs: Vec<(PartitionId, Payload)> = backend
            .prove(job, &challenge, &partitions)
            .unwrap()
            .into_iter()
            .map(|proof| (proof.partition, proof.proof))
            .collect();
        for (partition, proof) in &proofs {
            backend.verify_partition(job, *partition, proof).unwrap();
        }
        let aggregated = backend.aggregate(job, &proofs).unwrap();
        assert_eq!(
            aggregated.proof,
            expected_final_proof(job, &program(), &input, partition_count).unwrap()
        );
        assert_eq!(aggregated.outputs, outputs(&program(), &input));
    }
}
