//! The program's keys: [`setup`] from the ELF, [`ProvingKey`] for workers, [`VerifyingKey`]
//! for aggregators and clients.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::encoding::{FormatError, ObjectKind, decode, encode};
use crate::air::{ProgramTables, RvTable, bus::EXECUTION_BUSES};
use crate::stark::{self, ParamSet};
use crate::{ElfError, LoadConfig, Program, ProgramId};

/// Domain tag of the verifying-key digest.
const KEY_TAG: &[u8] = b"zisk/zkvm/verifying-key/v1";

/// Why setup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The ELF is not a valid guest.
    #[error("invalid guest ELF: {0}")]
    Elf(#[from] ElfError),
    /// The load settings are out of range.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The segment STARK refused the tables (a bug: the tables are fixed).
    #[error("segment STARK setup: {0}")]
    Stark(#[from] stark::SetupError),
}

/// Everything a verifier needs: the program (its ELF and memory size, hence its ROM and
/// initial memory image) and the segment STARK's key, named by a 32-byte [`digest`].
///
/// The byte form carries only the parameter set, the memory size and the ELF;
/// [`VerifyingKey::from_bytes`] recomputes everything else, so a key can never pair one
/// program's ELF with another program's ROM commitment.
///
/// [`digest`]: VerifyingKey::digest
#[derive(Clone)]
pub struct VerifyingKey {
    pub(crate) inner: Arc<KeyInner>,
}

pub(crate) struct KeyInner {
    pub(crate) elf: Vec<u8>,
    pub(crate) load: LoadConfig,
    pub(crate) program: Program,
    pub(crate) tables: ProgramTables,
    pub(crate) rv_tables: Vec<RvTable>,
    pub(crate) stark: stark::VerifyingKey,
    pub(crate) digest: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct KeyBody {
    params: u8,
    memory_size_bytes: u32,
    elf: Vec<u8>,
}

impl VerifyingKey {
    /// The key's digest: SHA-256 over a domain tag, the parameter set, the memory size, the
    /// program id and the segment STARK key's digest. The coordinator's "verifying key".
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        self.inner.digest
    }

    /// The program's id (SHA-256 of the ELF).
    #[must_use]
    pub fn program_id(&self) -> ProgramId {
        self.inner.program.id()
    }

    /// The parameter set proofs for this key are made with (and the weakest accepted).
    #[must_use]
    pub fn params(&self) -> ParamSet {
        self.inner.stark.params()
    }

    /// The loaded program.
    #[must_use]
    pub fn program(&self) -> &Program {
        &self.inner.program
    }

    /// The program's tables.
    #[must_use]
    pub fn tables(&self) -> &ProgramTables {
        &self.inner.tables
    }

    /// The segment STARK's verifying key.
    #[must_use]
    pub fn stark_key(&self) -> &stark::VerifyingKey {
        &self.inner.stark
    }

    /// The key as bytes (versioned header, then parameter set, memory size and ELF).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            ObjectKind::VerifyingKey,
            &KeyBody {
                params: self.params().id(),
                memory_size_bytes: self.inner.load.memory_size_bytes,
                elf: self.inner.elf.clone(),
            },
        )
    }

    /// Decodes [`Self::to_bytes`] and recomputes the key (about as costly as [`setup`]).
    ///
    /// # Errors
    /// Malformed bytes, or an ELF or memory size that does not set up.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyDecodeError> {
        let body: KeyBody = decode(ObjectKind::VerifyingKey, bytes)?;
        let params = ParamSet::from_id(body.params).ok_or(FormatError::Invalid {
            what: "unknown parameter set",
        })?;
        let load = LoadConfig {
            memory_size_bytes: body.memory_size_bytes,
            // The bytes are already bounded by MAX_VERIFYING_KEY_BYTES.
            max_elf_size_bytes: crate::MAX_ELF_SIZE_BYTES,
        };
        let (_, vk) = setup_with(&body.elf, &load, params)?;
        Ok(vk)
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("program", &self.program_id())
            .field("params", &self.params())
            .field("digest", &self.digest())
            .finish_non_exhaustive()
    }
}

/// Why a verifying key's bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDecodeError {
    /// The bytes are malformed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The ELF or settings inside do not set up.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

/// What a worker needs to prove segments of a program: the program, its tables and the
/// segment STARK's proving key (with the preprocessed commitments), and the verifying key.
pub struct ProvingKey {
    pub(crate) stark: stark::ProvingKey<RvTable>,
    pub(crate) vk: VerifyingKey,
}

impl ProvingKey {
    /// The matching verifying key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.vk
    }

    /// The loaded program.
    #[must_use]
    pub fn program(&self) -> &Program {
        self.vk.program()
    }

    /// The program's tables.
    #[must_use]
    pub fn tables(&self) -> &ProgramTables {
        self.vk.tables()
    }

    /// The segment STARK's proving key.
    #[must_use]
    pub fn stark_key(&self) -> &stark::ProvingKey<RvTable> {
        &self.stark
    }
}

impl std::fmt::Debug for ProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("vk", &self.vk)
            .finish_non_exhaustive()
    }
}

/// The keys of the guest `elf` (default load settings) under `params`.
///
/// # Errors
/// An invalid ELF, or a STARK setup failure.
pub fn setup(elf: &[u8], params: ParamSet) -> Result<(ProvingKey, VerifyingKey), SetupError> {
    setup_with(elf, &LoadConfig::default(), params)
}

/// Like [`setup`] with explicit load settings (guest memory size, ELF size limit).
///
/// # Errors
/// Invalid settings, an invalid ELF, or a STARK setup failure.
pub fn setup_with(
    elf: &[u8],
    load: &LoadConfig,
    params: ParamSet,
) -> Result<(ProvingKey, VerifyingKey), SetupError> {
    load.validate()?;
    let program = Program::load(elf, load)?;
    let tables = ProgramTables::new(&program);
    let rv_tables = RvTable::all(&tables);
    let (stark_pk, stark_vk) =
        stark::setup_with_execution_buses(params, &rv_tables, &EXECUTION_BUSES)?;
    let mut hash = Sha256::new();
    hash.update(KEY_TAG);
    hash.update([params.id()]);
    hash.update(load.memory_size_bytes.to_le_bytes());
    hash.update(program.id().as_bytes());
    hash.update(stark_vk.digest());
    let digest = hash.finalize().into();
    let vk = VerifyingKey {
        inner: Arc::new(KeyInner {
            elf: elf.to_vec(),
            load: *load,
            program,
            tables,
            rv_tables,
            stark: stark_vk,
            digest,
        }),
    };
    Ok((
        ProvingKey {
            stark: stark_pk,
            vk: vk.clone(),
        },
        vk,
    ))
}
