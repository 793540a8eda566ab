//! The emulator backend: runs guests with the RV32IM emulator of `zisk-prover` and proves
//! them with its segment STARK ([`zisk_prover::pipeline`]): setup, execution, phase 1,
//! phase 2, partial-proof verification and aggregation.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use zisk_core::{Challenge, Digest, JobId, PartitionId, Payload, ProgramId};
use zisk_net::worker::{
    AggregatedProof, BackendError, Execution, GuestRun, PartitionContribution, PartitionProof,
    ProvingBackend,
};
use zisk_proto::common::v1::Backend;
use zisk_prover::pipeline;

use super::keys::{KeyCache, ProgramKeys};
use super::proving::{JobProving, ProverOptions, backend_error, summary_of};

/// `segment_cycles` (a power of two, or 0 for the default) as the prover's log2 setting.
///
/// # Errors
/// Not a power of two within the prover's range.
pub fn segment_cycles_log2(segment_cycles: u64) -> Result<u32, BackendError> {
    if segment_cycles == 0 {
        return Ok(zisk_prover::DEFAULT_SEGMENT_CYCLES_LOG2);
    }
    let log2 = segment_cycles.trailing_zeros();
    let range = zisk_prover::MIN_SEGMENT_CYCLES_LOG2..=zisk_prover::MAX_SEGMENT_CYCLES_LOG2;
    if !segment_cycles.is_power_of_two() || !range.contains(&log2) {
        return Err(BackendError::Execution(format!(
            "segment size of {segment_cycles} cycles is not a power of two between 2^{} and 2^{}",
            range.start(),
            range.end()
        )));
    }
    Ok(log2)
}

/// Proves guests with the emulator and the segment STARK.
#[derive(Default)]
pub struct EmulatorBackend {
    keys: KeyCache,
    options: ProverOptions,
    jobs: Mutex<BTreeMap<JobId, Arc<JobProving>>>,
}

impl EmulatorBackend {
    /// A backend with explicit proving options.
    pub fn new(options: ProverOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    fn jobs(&self) -> MutexGuard<'_, BTreeMap<JobId, Arc<JobProving>>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn job(&self, job: JobId) -> Result<Arc<JobProving>, BackendError> {
        self.jobs().get(&job).cloned().ok_or_else(|| {
            BackendError::Internal(format!(
                "this worker holds no phase-1 data for job {}",
                job.0
            ))
        })
    }

    fn keys(&self, run: &GuestRun<'_>) -> Result<Arc<ProgramKeys>, BackendError> {
        self.keys.get(run.program, run.elf)
    }

    /// Whether one more segment of `cycles` fits the kept-data budget.
    fn may_keep(&self, cycles: u64) -> bool {
        let jobs: Vec<Arc<JobProving>> = self.jobs().values().cloned().collect();
        let kept: u64 = jobs.iter().map(|job| job.kept_cycles()).sum();
        kept + cycles <= self.options.max_kept_cycles
    }
}

impl ProvingBackend for EmulatorBackend {
    fn kind(&self) -> Backend {
        Backend::Emulator
    }

    fn setup(&self, program: ProgramId, elf: &[u8]) -> Result<Digest, BackendError> {
        Ok(Digest(self.keys.get(program, elf)?.vk.digest()))
    }

    fn execute(&self, run: &GuestRun<'_>) -> Result<Execution, BackendError> {
        let keys = self.keys(run)?;
        let log2 = segment_cycles_log2(run.segment_cycles)?;
        let report = pipeline::execute(&keys.pk, run.input, log2).map_err(backend_error)?;
        Ok(Execution {
            summary: summary_of(&report),
            outputs: report.outputs,
        })
    }

    fn contribute(
        &self,
        run: &GuestRun<'_>,
        partition_count: u32,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionContribution>, BackendError> {
        let keys = self.keys(run)?;
        let log2 = segment_cycles_log2(run.segment_cycles)?;
        let existing = self.jobs().get(&run.job).cloned();
        let job = match existing {
            Some(job) if job.is_run(&keys, run.input, log2) => job,
            _ => {
                let report = pipeline::execute(&keys.pk, run.input, log2).map_err(backend_error)?;
                let job = Arc::new(JobProving::new(
                    keys,
                    run.input,
                    log2,
                    &report,
                    partition_count,
                ));
                self.jobs().insert(run.job, job.clone());
                job
            }
        };
        job.contribute(partition_count, partitions, &self.options, &|cycles| {
            self.may_keep(cycles)
        })
    }

    fn prove(
        &self,
        job: JobId,
        challenge: &Challenge,
        partitions: &[PartitionId],
    ) -> Result<Vec<PartitionProof>, BackendError> {
        self.job(job)?.prove(challenge, partitions, &self.options)
    }

    fn verify_partition(
        &self,
        job: JobId,
        partition: PartitionId,
        proof: &[u8],
    ) -> Result<(), BackendError> {
        self.job(job)?.verify_partition(partition, proof)
    }

    fn aggregate(
        &self,
        job: JobId,
        proofs: &[(PartitionId, Payload)],
    ) -> Result<AggregatedProof, BackendError> {
        let (proof, outputs) = self.job(job)?.aggregate(proofs)?;
        Ok(AggregatedProof {
            proof: Payload::from(proof),
            outputs,
        })
    }

    fn release(&self, job: JobId) {
        if let Some(job) = self.jobs().remove(&job) {
            job.drop_kept();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::ProverChallenge;
    use sha2::{Digest as _, Sha256};
    use zisk_core::ChallengeDerivation;

    const FIBONACCI: &[u8] = include_bytes!("../../../prover/guests/bin/fibonacci.elf");

    fn run<'a>(elf: &'a [u8], input: &'a [u8]) -> GuestRun<'a> {
        GuestRun {
            job: JobId(1),
            program: ProgramId(Sha256::digest(elf).into()),
            elf,
            input,
            segment_cycles: 1 << 6,
        }
    }

    #[test]
    fn the_emulator_executes_a_guest_and_summarises_it() {
        let backend = EmulatorBackend::default();
        let input = 10u32.to_le_bytes();
        let execution = backend.execute(&run(FIBONACCI, &input)).unwrap();
        assert_eq!(execution.outputs[4..], 55u64.to_le_bytes());
        assert_eq!(
            execution.summary.outputs_digest.0,
            <[u8; 32]>::from(Sha256::digest(&execution.outputs))
        );
        assert_eq!(
            u64::from(execution.summary.segment_count),
            execution.summary.cycles.div_ceil(64)
        );
    }

    #[test]
    fn setup_reports_the_verifying_key_digest_and_refuses_a_bad_elf() {
        let backend = EmulatorBackend::default();
        let program = ProgramId(Sha256::digest(FIBONACCI).into());
        let digest = backend.setup(program, FIBONACCI).unwrap();
        let (_, vk) = pipeline::setup(FIBONACCI, super::super::CLUSTER_PARAMS).unwrap();
        assert_eq!(digest.0, vk.digest());
        assert!(matches!(
            backend.setup(ProgramId([0; 32]), b"not an elf"),
            Err(BackendError::InvalidElf(_))
        ));
        assert!(matches!(
            backend.setup(ProgramId([0; 32]), FIBONACCI),
            Err(BackendError::InvalidElf(message)) if message.contains("program id")
        ));
    }

    /// Two backends (two workers) prove the two partitions of one job; the first aggregates.
    fn prove_with_two_workers(options: ProverOptions) {
        let input = 30u32.to_le_bytes();
        let mut run = run(FIBONACCI, &input);
        run.segment_cycles = 1 << 7;
        let workers = [EmulatorBackend::new(options), EmulatorBackend::new(options)];
        let digest = workers[0].setup(run.program, FIBONACCI).unwrap();
        assert_eq!(workers[1].setup(run.program, FIBONACCI).unwrap(), digest);
        let execution = workers[0].execute(&run).unwrap();
        assert!(execution.summary.segment_count >= 3, "{execution:?}");

        let mut contributions = Vec::new();
        for (index, worker) in workers.iter().enumerate() {
            let partition = PartitionId(index as u32);
            let contributed = worker.contribute(&run, 2, &[partition]).unwrap();
            assert_eq!(contributed.len(), 1);
            assert_eq!(contributed[0].summary, execution.summary);
            contributions.extend(contributed[0].contributions.iter().cloned());
        }
        contributions.sort_by_key(|contribution| contribution.segment);
        assert_eq!(contributions.len() as u32, execution.summary.segment_count);
        let challenge =
            ProverChallenge.derive(&run.program, &digest, &execution.summary, &contributions);

        let proofs: Vec<PartitionProof> = workers
            .iter()
            .enumerate()
            .flat_map(|(index, worker)| {
                worker
                    .prove(run.job, &challenge, &[PartitionId(index as u32)])
                    .unwrap()
            })
            .collect();
        // The aggregator refuses a proof under the wrong partition and a forged one.
        let aggregator = &workers[0];
        let other = &proofs[1];
        assert!(matches!(
            aggregator.verify_partition(run.job, PartitionId(0), &other.proof),
            Err(BackendError::ProofRejected(_))
        ));
        let mut forged = other.proof.to_vec();
        let middle = forged.len() / 2;
        forged[middle] ^= 1;
        assert!(matches!(
            aggregator.verify_partition(run.job, other.partition, &forged),
            Err(BackendError::ProofRejected(_))
        ));
        aggregator
            .verify_partition(run.job, other.partition, &other.proof)
            .unwrap();
        let all: Vec<(PartitionId, Payload)> = proofs
            .iter()
            .map(|proof| (proof.partition, proof.proof.clone()))
            .collect();
        let aggregated = aggregator.aggregate(run.job, &all).unwrap();
        assert_eq!(aggregated.outputs, execution.outputs);

        let (_, vk) = pipeline::setup(FIBONACCI, super::super::CLUSTER_PARAMS).unwrap();
        let verified = pipeline::verify_bytes(&vk, &input, &aggregated.proof).unwrap();
        assert_eq!(verified.outputs[4..], 832_040u64.to_le_bytes());
        assert_eq!(verified.cycles, execution.summary.cycles);
        for worker in &workers {
            worker.release(run.job);
            assert!(
                worker
                    .prove(run.job, &challenge, &[PartitionId(0)])
                    .is_err()
            );
        }
    }

    #[test]
    fn two_workers_prove_a_multi_segment_run_that_verifies() {
        prove_with_two_workers(ProverOptions::default());
    }

    #[test]
    fn without_kept_phase1_data_phase_two_redoes_phase_one_and_still_proves() {
        prove_with_two_workers(ProverOptions {
            parallel_segments: 2,
            max_kept_cycles: 0,
        });
    }

    #[test]
    fn proving_a_job_never_contributed_here_fails_with_a_clear_error() {
        let backend = EmulatorBackend::default();
        let error = backend
            .prove(JobId(9), &Challenge(vec![0; 32].into()), &[PartitionId(0)])
            .unwrap_err();
        assert!(error.to_string().contains("no phase-1 data"), "{error}");
    }

    #[test]
    fn segment_sizes_must_be_powers_of_two_in_range() {
        assert_eq!(
            segment_cycles_log2(0).unwrap(),
            zisk_prover::DEFAULT_SEGMENT_CYCLES_LOG2
        );
        assert_eq!(segment_cycles_log2(1 << 10).unwrap(), 10);
        assert!(segment_cycles_log2(1000).is_err());
        assert!(segment_cycles_log2(1).is_err());
    }
}
