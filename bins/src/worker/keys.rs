//! The worker's program keys: [`pipeline::setup`] once per program, kept in a small cache.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use zisk_core::ProgramId;
use zisk_net::worker::BackendError;
use zisk_prover::pipeline::{self, ProvingKey, VerifyingKey};
use zisk_prover::stark::ParamSet;

/// The parameter set every cluster proof uses. Test parameters are for unit tests of the
/// prover only; a cluster never offers them.
pub const CLUSTER_PARAMS: ParamSet = ParamSet::Production;

/// Most programs whose keys are kept (a key holds the program's ROM and preprocessed
/// commitments); the least recently set up is dropped first.
pub const MAX_CACHED_KEYS: usize = 8;

/// One program's keys.
pub struct ProgramKeys {
    /// The proving key.
    pub pk: ProvingKey,
    /// The verifying key (its digest is what setup reports).
    pub vk: VerifyingKey,
}

/// Keys by program, most recent last.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<VecDeque<(ProgramId, Arc<ProgramKeys>)>>,
}

impl KeyCache {
    /// The keys of `program`, running setup on `elf` when they are not cached.
    ///
    /// # Errors
    /// The ELF is not a valid guest or does not hash to `program`.
    pub fn get(&self, program: ProgramId, elf: &[u8]) -> Result<Arc<ProgramKeys>, BackendError> {
        if let Some(keys) = self.cached(program) {
            return Ok(keys);
        }
        // Setup runs outside the lock: another program's setup need not wait for it.
        let (pk, vk) = pipeline::setup(elf, CLUSTER_PARAMS)
            .map_err(|error| BackendError::InvalidElf(error.to_string()))?;
        if *vk.program_id().as_bytes() != program.0 {
            return Err(BackendError::InvalidElf(
                "the ELF does not hash to its program id".to_owned(),
            ));
        }
        let keys = Arc::new(ProgramKeys { pk, vk });
        let mut entries = self.lock();
        entries.retain(|(id, _)| *id != program);
        if entries.len() >= MAX_CACHED_KEYS {
            entries.pop_front();
        }
        entries.push_back((program, keys.clone()));
        Ok(keys)
    }

    fn cached(&self, program: ProgramId) -> Option<Arc<ProgramKeys>> {
        let mut entries = self.lock();
        let position = entries.iter().position(|(id, _)| *id == program)?;
        let entry = entries.remove(position)?;
        let keys = entry.1.clone();
        entries.push_back(entry);
        Some(keys)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(ProgramId, Arc<ProgramKeys>)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
