//! Phase 1: commit to every table's main trace.

use std::marker::PhantomData;

use p3_matrix::Matrix;
use p3_matrix::dense::RowMajorMatrix;

use super::config::{
    Digest, PcsProverData, Val, commit, commitment_digest, digest_bytes, trace_domain,
};
use super::errors::ProveError;
use super::keys::{MIN_TABLE_LOG_HEIGHT, ProvingKey};
use super::table::Table;

/// The state between the phases: main traces, their commitment and the public values.
///
/// Send [`Self::commitment`] to whoever derives the global challenge, then pass this to
/// [`crate::stark::prove_phase2`] with that challenge.
pub struct Phase1<T> {
    pub(crate) vk_digest: Digest,
    pub(crate) traces: Vec<RowMajorMatrix<Val>>,
    pub(crate) log_heights: Vec<u8>,
    pub(crate) public_values: Vec<Val>,
    pub(crate) main_commitment: Digest,
    pub(crate) main_data: PcsProverData,
    _tables: PhantomData<fn() -> T>,
}

impl<T> Phase1<T> {
    /// The 32-byte commitment to all main traces (a Poseidon2 Merkle root).
    #[must_use]
    pub fn commitment(&self) -> [u8; 32] {
        digest_bytes(&self.main_commitment)
    }

    /// Log2 of every table's height, in table order.
    #[must_use]
    pub fn log_heights(&self) -> &[u8] {
        &self.log_heights
    }

    /// The public values every table sees.
    pub fn public_values(&self) -> &[Val] {
        &self.public_values
    }
}

impl<T> std::fmt::Debug for Phase1<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phase1")
            .field("commitment", &self.commitment())
            .field("log_heights", &self.log_heights)
            .finish_non_exhaustive()
    }
}

/// Commits every main trace (one per table, in table order) in one commitment.
///
/// Heights are powers of two of at least `2^MIN_TABLE_LOG_HEIGHT` rows, at most the
/// parameter set's limit, and equal to the preprocessed height where a table has one.
/// `public_values` has the verifying key's length.
pub fn commit_main<T: Table>(
    pk: &ProvingKey<T>,
    traces: Vec<RowMajorMatrix<Val>>,
    public_values: Vec<Val>,
) -> Result<Phase1<T>, ProveError> {
    if traces.len() != pk.tables.len() {
        return Err(ProveError::TraceCount {
            expected: pk.tables.len(),
            found: traces.len(),
        });
    }
    if public_values.len() != pk.vk.num_public_values() {
        return Err(ProveError::PublicValueCount {
            expected: pk.vk.num_public_values(),
            found: public_values.len(),
        });
    }
    let max_log_height = pk.vk.params().max_table_log_height();
    let mut log_heights = Vec::with_capacity(traces.len());
    for (index, (trace, shape)) in traces.iter().zip(pk.vk.tables()).enumerate() {
        if trace.width() != shape.main_width {
            return Err(ProveError::TraceWidth {
                table: index,
                expected: shape.main_width,
                found: trace.width(),
            });
        }
        let height = trace.height();
        let bad = |reason| ProveError::TraceHeight {
            table: index,
            height,
            reason,
        };
        if !height.is_power_of_two() {
            return Err(bad("not a power of two"));
        }
        let log_height = height.ilog2() as usize;
        if log_height < MIN_TABLE_LOG_HEIGHT {
            return Err(bad("below the minimum"));
        }
        if log_height > max_log_height {
            return Err(bad("above the parameter set's maximum"));
        }
        if shape
            .preprocessed_log_height
            .is_some_and(|fixed| fixed != log_height)
        {
            return Err(bad("differs from the preprocessed height"));
        }
        log_heights.push(u8::try_from(log_height).expect("at most 24"));
    }

    let inputs = traces
        .iter()
        .map(|trace| (trace_domain(&pk.pcs, trace.height()), trace.clone()))
        .collect();
    let (commitment, main_data) = commit(&pk.pcs, inputs).map_err(|source| ProveError::Pcs {
        phase: "main traces",
        source,
    })?;
    Ok(Phase1 {
        vk_digest: *pk.vk.digest_elements(),
        traces,
        log_heights,
        public_values,
        main_commitment: commitment_digest(&commitment),
        main_data,
        _tables: PhantomData,
    })
}
