//! The emulator backend: executes guests with the RV32IM emulator of `zisk-prover`. STARK
//! proving is not built yet, so every proving call fails with [`STARK_NOT_BUILT`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};
use zisk_core::{Challenge, Digest, ExecutionSummary, JobId, PartitionId, Payload, ProgramId};
use zisk_net::worker::{
    AggregatedProof, BackendError, Execution, GuestRun, PartitionContribution, PartitionProof,
    ProvingBackend,
};
use zisk_proto::common::v1::Backend;
use zisk_prover::{ExecConfig, Program};

/// The error every proving call returns until the STARK exists.
pub const STARK_NOT_BUILT: &str = "STARK proving is not built yet (issue: zkVM part 2)";

/// Most loaded programs kept; the cache is emptied when it is full.
const MAX_CACHED_PROGRAMS: usize = 64;

/// Runs guests with the emulator.
#[derive(Default)]
pub struct EmulatorBackend {
    programs: Mutex<BTreeMap<ProgramId, Arc<Program>>>,
}

/// The interim setup digest: SHA-256 of the ELF (the program id). The real verifying key
/// comes with the STARK; until then this is what `Setup` reports.
pub fn interim_program_digest(elf: &[u8]) -> Digest {
    Digest(Sha256::digest(elf).into())
}

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

impl EmulatorBackend {
    fn program(&self, program: ProgramId, elf: &[u8]) -> Result<Arc<Program>, BackendError> {
        let mut cache = self
            .programs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(loaded) = cache.get(&program) {
            return Ok(loaded.clone());
        }
        let loaded = Arc::new(
            Program::from_elf(elf).map_err(|error| BackendError::InvalidElf(error.to_string()))?,
        );
        if loaded.id().0 != program.0 {
            return Err(BackendError::InvalidElf(
                "the ELF does not hash to its program id".to_owned(),
            ));
        }
        if cache.len() >= MAX_CACHED_PROGRAMS {
            cache.clear();
        }
        cache.insert(program, loaded.clone());
        Ok(loaded)
    }

    fn not_built<T>() -> Result<T, BackendError> {
        Err(BackendError::NotBuilt(STARK_NOT_BUILT.to_owned()))
    }
}

impl ProvingBackend for EmulatorBackend {
    fn kind(&self) -> Backend {
        Backend::Emulator
    }

    fn setup(&self, program: ProgramId, elf: &[u8]) -> Result<Digest, BackendError> {
        self.program(program, elf)?;
        Ok(interim_program_digest(elf))
    }

    fn execute(&self, run: &GuestRun<'_>) -> Result<Execution, BackendError> {
        let program = self.program(run.program, run.elf)?;
        let config = ExecConfig {
            segment_cycles_log2: segment_cycles_log2(run.segment_cycles)?,
            ..ExecConfig::default()
        };
        let summary = zisk_prover::execute(&program, &config, run.input)
            .map_err(|error| BackendError::Execution(error.to_string()))?;
        Ok(Execution {
            summary: ExecutionSummary {
                segment_count: summary.segment_count,
                cycles: summary.cycles,
                outputs_digest: Digest(Sha256::digest(&summary.public_outputs).into()),
            },
            outputs: summary.public_outputs,
        })
    }

    fn contribute(
        &self,
        _run: &GuestRun<'_>,
        _partition_count: u32,
        _partitions: &[PartitionId],
    ) -> Result<Vec<PartitionContribution>, BackendError> {
        Self::not_built()
    }

    fn prove(
        &self,
        _job: JobId,
        _challenge: &Challenge,
        _partitions: &[PartitionId],
    ) -> Result<Vec<PartitionProof>, BackendError> {
        Self::not_built()
    }

    fn verify_partition(
        &self,
        _job: JobId,
        _partition: PartitionId,
        _proof: &[u8],
    ) -> Result<(), BackendError> {
        Self::not_built()
    }

    fn aggregate(
        &self,
        _job: JobId,
        _proofs: &[(PartitionId, Payload)],
    ) -> Result<AggregatedProof, BackendError> {
        Self::not_built()
    }

    fn release(&self, _job: JobId) {}
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn proving_fails_with_a_clear_not_built_error() {
        let backend = EmulatorBackend::default();
        let error = backend
            .contribute(&run(FIBONACCI, &[]), 1, &[PartitionId(0)])
            .unwrap_err();
        assert_eq!(error.to_string(), STARK_NOT_BUILT);
    }

    #[test]
    fn setup_reports_the_interim_program_digest() {
        let backend = EmulatorBackend::default();
        let digest = backend
            .setup(ProgramId(Sha256::digest(FIBONACCI).into()), FIBONACCI)
            .unwrap();
        assert_eq!(digest, interim_program_digest(FIBONACCI));
        assert!(backend.setup(ProgramId([0; 32]), b"not an elf").is_err());
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
