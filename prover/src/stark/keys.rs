//! Setup: the proving key and the verifying key.

use std::collections::{BTreeMap, BTreeSet};

use p3_lookup::Kind;
use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;
use serde::{Deserialize, Serialize};

use super::config::{
    Digest, Pcs, PcsProverData, Val, bytes_digest, commit, commitment_digest, digest_bytes, pcs,
    trace_domain,
};
use super::encoding::{Header, MAX_KEY_BYTES, decode_body, encode};
use super::errors::{ProofFormatError, SetupError, VerifyError};
use super::params::ParamSet;
use super::table::{Table, TableInfo, derive_all};
use super::transcript::hash_bytes;

/// Smallest table height, as log2.
pub const MIN_TABLE_LOG_HEIGHT: usize = 2;

/// Domain tag of the verifying-key digest.
const KEY_TAG: &[u8] = b"zisk/segment-stark/verifying-key/v1";

/// Where a bus's LogUp challenges come from, and so which messages can cancel on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BusScope {
    /// Challenges derived from the global challenge alone: every proof of one execution uses
    /// the same pair, so the bus balances over all proofs together (with external messages).
    Execution,
    /// Challenges derived from the global challenge *and* the proof's own statement (its
    /// phase-1 commitment and public values): the bus must balance within the proof, and no
    /// other proof or external message can cancel its messages.
    Proof,
}

/// The shape of one table as the verifying key fixes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableShape {
    /// Main trace columns.
    pub main_width: usize,
    /// Preprocessed columns (zero when the table has none).
    pub preprocessed_width: usize,
    /// Log2 height fixed by the preprocessed trace, `None` when the table has none.
    pub preprocessed_log_height: Option<usize>,
    /// LogUp fraction columns after same-bus packing (zero: no lookups).
    pub lookup_columns: usize,
    /// Highest constraint degree, LogUp constraints included.
    pub constraint_degree: usize,
    /// Log2 of the number of quotient chunks.
    pub log_quotient_chunks: usize,
}

/// The serialised part of a verifying key; the digest is computed from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KeyBody {
    tables: Vec<TableShape>,
    num_public_values: usize,
    /// Every global bus and its message width, by name.
    buses: BTreeMap<String, usize>,
    /// The buses whose challenges come from the global challenge alone
    /// ([`BusScope::Execution`]); every other bus is [`BusScope::Proof`].
    execution_buses: BTreeSet<String>,
    /// Root of the commitment to all preprocessed traces.
    preprocessed_commitment: Option<[u8; 32]>,
}

/// What a verifier needs besides the tables' code: parameter set, table shapes, buses and the
/// commitment to the preprocessed traces, named by a 32-byte digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyingKey {
    params: ParamSet,
    body: KeyBody,
    digest: Digest,
}

impl VerifyingKey {
    fn new(params: ParamSet, body: KeyBody) -> Self {
        let encoded = postcard::to_allocvec(&(params.id(), &body)).expect("serialising a key");
        let digest = hash_bytes(KEY_TAG, &encoded);
        Self {
            params,
            body,
            digest,
        }
    }

    /// The key's digest: Poseidon2 over its parameter set and serialised body.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        digest_bytes(&self.digest)
    }

    pub(crate) fn digest_elements(&self) -> &Digest {
        &self.digest
    }

    /// The parameter set proofs for this key are made with.
    #[must_use]
    pub fn params(&self) -> ParamSet {
        self.params
    }

    /// The tables' shapes, in table order.
    #[must_use]
    pub fn tables(&self) -> &[TableShape] {
        &self.body.tables
    }

    /// Length of the public-value vector every table sees.
    #[must_use]
    pub fn num_public_values(&self) -> usize {
        self.body.num_public_values
    }

    /// Width of a global bus's messages, `None` if no table uses the bus.
    #[must_use]
    pub fn bus_width(&self, bus: &str) -> Option<usize> {
        self.body.buses.get(bus).copied()
    }

    /// Every global bus with its message width.
    #[must_use]
    pub fn buses(&self) -> &BTreeMap<String, usize> {
        &self.body.buses
    }

    /// The scope of a global bus, `None` if no table uses the bus.
    #[must_use]
    pub fn bus_scope(&self, bus: &str) -> Option<BusScope> {
        self.body.buses.get(bus)?;
        Some(if self.body.execution_buses.contains(bus) {
            BusScope::Execution
        } else {
            BusScope::Proof
        })
    }

    /// Root of the preprocessed commitment, `None` when no table has preprocessed columns.
    #[must_use]
    pub fn preprocessed_commitment(&self) -> Option<[u8; 32]> {
        self.body.preprocessed_commitment
    }

    pub(crate) fn preprocessed_digest(&self) -> Option<Digest> {
        self.body
            .preprocessed_commitment
            .map(|bytes| bytes_digest(&bytes).expect("checked when the key was made or decoded"))
    }

    /// The key as bytes: header (magic, format version, parameter set), then the body.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(Header::Key, self.params, &self.body)
    }

    /// Decodes [`Self::to_bytes`]; any malformed input is a typed error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        let (params, body): (ParamSet, KeyBody) = decode_body(Header::Key, MAX_KEY_BYTES, bytes)?;
        if let Some(root) = &body.preprocessed_commitment
            && bytes_digest(root).is_none()
        {
            return Err(ProofFormatError::NonCanonicalDigest);
        }
        Ok(Self::new(params, body))
    }

    /// Derives the tables' infos and checks them against this key.
    pub(crate) fn check_tables<T: Table>(
        &self,
        tables: &[T],
    ) -> Result<Vec<TableInfo>, VerifyError> {
        if tables.len() != self.body.tables.len() {
            return Err(VerifyError::TableMismatch {
                table: tables.len(),
                what: "table count",
            });
        }
        let infos = derive_all(tables).map_err(|_| VerifyError::TableMismatch {
            table: 0,
            what: "tables fail setup checks",
        })?;
        for (index, (info, shape)) in infos.iter().zip(&self.body.tables).enumerate() {
            let mismatch = |what| VerifyError::TableMismatch { table: index, what };
            if info.main_width != shape.main_width {
                return Err(mismatch("main width"));
            }
            if info.preprocessed_width != shape.preprocessed_width {
                return Err(mismatch("preprocessed width"));
            }
            if info.lookups.len() != shape.lookup_columns {
                return Err(mismatch("lookup columns"));
            }
            if info.constraint_degree != shape.constraint_degree
                || info.log_quotient_chunks != shape.log_quotient_chunks
            {
                return Err(mismatch("constraint degree"));
            }
            if info.num_public_values != 0 && info.num_public_values != self.body.num_public_values
            {
                return Err(mismatch("public value count"));
            }
        }
        if bus_widths(&infos) != self.body.buses {
            return Err(VerifyError::TableMismatch {
                table: 0,
                what: "buses",
            });
        }
        Ok(infos)
    }
}

/// The prover's half of setup: the tables, their derived shapes, the commitment scheme and
/// the preprocessed traces with their commitment data.
pub struct ProvingKey<T> {
    pub(crate) vk: VerifyingKey,
    pub(crate) tables: Vec<T>,
    pub(crate) infos: Vec<TableInfo>,
    pub(crate) pcs: Pcs,
    /// Per table, its preprocessed trace.
    pub(crate) preprocessed_traces: Vec<Option<RowMajorMatrix<Val>>>,
    /// Commitment data of all preprocessed traces, and each table's matrix index in it.
    pub(crate) preprocessed_data: Option<PcsProverData>,
    pub(crate) preprocessed_index: Vec<Option<usize>>,
}

impl<T> ProvingKey<T> {
    /// The matching verifying key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.vk
    }

    /// The tables, in order.
    #[must_use]
    pub fn tables(&self) -> &[T] {
        &self.tables
    }
}

impl<T> std::fmt::Debug for ProvingKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingKey")
            .field("vk", &self.vk)
            .finish_non_exhaustive()
    }
}

/// Every global bus and its width (already checked to agree across tables).
fn bus_widths(infos: &[TableInfo]) -> BTreeMap<String, usize> {
    let mut buses = BTreeMap::new();
    for lookup in infos.iter().flat_map(|info| info.lookups.iter()) {
        if let Kind::Global(name) = &lookup.kind {
            let width = lookup.elements.first().map_or(0, Vec::len);
            buses.insert(name.clone(), width);
        }
    }
    buses
}

/// Commits every table's preprocessed trace and derives the keys. Every bus is
/// [`BusScope::Execution`]: see [`setup_with_execution_buses`] to confine buses to one proof.
///
/// Tables are cloned into the proving key. Each table's `preprocessed_width` must match
/// its `preprocessed_trace`; that trace fixes the table's height. Tables that read public
/// values must all declare the same `num_public_values`.
pub fn setup<T: Table + Clone>(
    params: ParamSet,
    tables: &[T],
) -> Result<(ProvingKey<T>, VerifyingKey), SetupError> {
    setup_scoped(params, tables, None)
}

/// Like [`setup`], but only the buses named in `execution_buses` are
/// [`BusScope::Execution`]; every other bus is [`BusScope::Proof`] and must balance within
/// each proof. Use this when several proofs share a global challenge: a bus that is meant to
/// balance inside one segment must not be able to borrow messages from another.
pub fn setup_with_execution_buses<T: Table + Clone>(
    params: ParamSet,
    tables: &[T],
    execution_buses: &[&str],
) -> Result<(ProvingKey<T>, VerifyingKey), SetupError> {
    setup_scoped(params, tables, Some(execution_buses))
}

fn setup_scoped<T: Table + Clone>(
    params: ParamSet,
    tables: &[T],
    execution_buses: Option<&[&str]>,
) -> Result<(ProvingKey<T>, VerifyingKey), SetupError> {
    if tables.is_empty() {
        return Err(SetupError::NoTables);
    }
    let infos = derive_all(tables)?;
    let buses = bus_widths(&infos);
    let execution_buses: BTreeSet<String> = match execution_buses {
        None => buses.keys().cloned().collect(),
        Some(names) => {
            for name in names {
                if !buses.contains_key(*name) {
                    return Err(SetupError::UnknownBus {
                        bus: (*name).to_owned(),
                    });
                }
            }
            names.iter().map(|name| (*name).to_owned()).collect()
        }
    };

    let mut num_public_values = 0;
    for (index, info) in infos.iter().enumerate() {
        if info.num_public_values == 0 {
            continue;
        }
        if num_public_values != 0 && info.num_public_values != num_public_values {
            return Err(SetupError::PublicValueCount {
                table: index,
                expected: num_public_values,
                found: info.num_public_values,
            });
        }
        num_public_values = info.num_public_values;
    }

    let pcs = pcs(params);
    let max_log_height = params.max_table_log_height();
    let mut preprocessed_traces = Vec::with_capacity(tables.len());
    let mut preprocessed_index = Vec::with_capacity(tables.len());
    let mut to_commit = Vec::new();
    let mut shapes = Vec::with_capacity(tables.len());
    for (index, (table, info)) in tables.iter().zip(&infos).enumerate() {
        let trace = table.preprocessed_trace();
        let actual = trace.as_ref().map_or(0, Matrix::width);
        if actual != info.preprocessed_width || (trace.is_some() && actual == 0) {
            return Err(SetupError::PreprocessedWidth {
                table: index,
                declared: info.preprocessed_width,
                actual,
            });
        }
        let log_height = match &trace {
            Some(trace) => {
                let height = trace.height();
                let log = height.checked_ilog2().map_or(0, |l| l as usize);
                if !height.is_power_of_two() || log < MIN_TABLE_LOG_HEIGHT || log > max_log_height {
                    return Err(SetupError::PreprocessedHeight {
                        table: index,
                        height,
                        min: 1 << MIN_TABLE_LOG_HEIGHT,
                        max: 1 << max_log_height,
                    });
                }
                preprocessed_index.push(Some(to_commit.len()));
                to_commit.push((trace_domain(&pcs, height), trace.clone()));
                Some(log)
            }
            None => {
                preprocessed_index.push(None);
                None
            }
        };
        preprocessed_traces.push(trace);
        shapes.push(TableShape {
            main_width: info.main_width,
            preprocessed_width: info.preprocessed_width,
            preprocessed_log_height: log_height,
            lookup_columns: info.lookups.len(),
            constraint_degree: info.constraint_degree,
            log_quotient_chunks: info.log_quotient_chunks,
        });
    }

    let (preprocessed_commitment, preprocessed_data) = if to_commit.is_empty() {
        (None, None)
    } else {
        let (commitment, data) = commit(&pcs, to_commit)?;
        (
            Some(digest_bytes(&commitment_digest(&commitment))),
            Some(data),
        )
    };

    let body = KeyBody {
        tables: shapes,
        num_public_values,
        buses,
        execution_buses,
        preprocessed_commitment,
    };
    let vk = VerifyingKey::new(params, body);
    let pk = ProvingKey {
        vk: vk.clone(),
        tables: tables.to_vec(),
        infos,
        pcs,
        preprocessed_traces,
        preprocessed_data,
        preprocessed_index,
    };
    Ok((pk, vk))
}
