//! The segment proof and its byte form.

use serde::{Deserialize, Serialize};

use super::config::{Challenge, Digest, PcsProof, digest_bytes};
use super::encoding::{Header, MAX_PROOF_BYTES, decode_body, encode};
use super::errors::ProofFormatError;
use super::params::ParamSet;

/// Values of one table's polynomials at `zeta` and at the next point `zeta * g`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TableOpening {
    pub(crate) main_local: Vec<Challenge>,
    pub(crate) main_next: Vec<Challenge>,
    /// Empty when the table has no preprocessed columns.
    pub(crate) preprocessed_local: Vec<Challenge>,
    pub(crate) preprocessed_next: Vec<Challenge>,
    /// The LogUp trace flattened to base-field columns; empty without lookups.
    pub(crate) aux_local: Vec<Challenge>,
    pub(crate) aux_next: Vec<Challenge>,
    /// Per quotient chunk, its four base-field coordinate polynomials at `zeta`.
    pub(crate) quotient_chunks: Vec<Vec<Challenge>>,
}

/// Everything after the header.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct ProofBody {
    pub(crate) log_heights: Vec<u8>,
    pub(crate) main_commitment: Digest,
    pub(crate) aux_commitment: Option<Digest>,
    pub(crate) quotient_commitment: Digest,
    /// Per table, its LogUp terminal (`None` for a table without lookups).
    pub(crate) terminals: Vec<Option<Challenge>>,
    pub(crate) openings: Vec<TableOpening>,
    pub(crate) opening_proof: PcsProof,
}

/// A proof of one segment: all tables, one FRI argument.
#[derive(Clone)]
pub struct SegmentProof {
    pub(crate) params: ParamSet,
    pub(crate) body: ProofBody,
}

impl SegmentProof {
    /// The parameter set the proof was made with.
    #[must_use]
    pub fn params(&self) -> ParamSet {
        self.params
    }

    /// The phase-1 commitment to the main traces.
    #[must_use]
    pub fn main_commitment(&self) -> [u8; 32] {
        digest_bytes(&self.body.main_commitment)
    }

    /// Log2 of every table's height, in table order.
    #[must_use]
    pub fn log_heights(&self) -> &[u8] {
        &self.body.log_heights
    }

    /// The proof as bytes: header (magic, format version, parameter set), then the body.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(Header::Proof, self.params, &self.body)
    }

    /// Decodes [`Self::to_bytes`]. Any malformed input (truncated, mutated, foreign) is a
    /// typed error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofFormatError> {
        let (params, body) = decode_body(Header::Proof, MAX_PROOF_BYTES, bytes)?;
        Ok(Self { params, body })
    }
}

impl std::fmt::Debug for SegmentProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentProof")
            .field("params", &self.params)
            .field("log_heights", &self.body.log_heights)
            .field("main_commitment", &self.main_commitment())
            .finish_non_exhaustive()
    }
}
