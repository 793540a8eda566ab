//! [`FinalProof`] and [`verify`], the one entry point a client needs.
//!
//! Until recursion exists, the final proof is the aggregation tree itself: it carries every
//! segment proof (with its public values), and the last segment carries the final memory
//! and the public output. Verifying it verifies every segment proof, the chaining of
//! adjacent segments, the global challenge (recomputed from the segments' contributions)
//! and the balance of the execution buses over the whole run.

use p3_maybe_rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::aggregate::{AggregateError, Forest, RunContext};
use super::bundle::SegmentProofBundle;
use super::challenge::{Contribution, RunSummary, derive, outputs_digest};
use super::encoding::{FormatError, ObjectKind, decode, encode};
use super::keys::VerifyingKey;
use crate::air;

/// The proof of a whole run: every segment proof, in segment order.
#[derive(Clone, Debug)]
pub struct FinalProof {
    pub(crate) leaves: Vec<SegmentProofBundle>,
}

#[derive(Serialize, Deserialize)]
struct FinalBody {
    leaves: Vec<Vec<u8>>,
}

/// What a verified run establishes about the guest's execution on the public input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicOutputs {
    /// The guest's exit code (a0 at the halt; the guest ABI treats non-zero as failure, and
    /// an honest prover never proves such a run because the emulator faults).
    pub exit_code: u32,
    /// The bytes the guest committed, in order.
    pub outputs: Vec<u8>,
    /// Instructions executed, the halting ECALL included.
    pub cycles: u64,
}

/// Why a final proof is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bytes do not decode.
    #[error("malformed proof: {0}")]
    Format(#[from] FormatError),
    /// The proof holds no segment, or more than [`air::MAX_SEGMENTS`].
    #[error("a final proof holds 1..={max} segments, not {count}")]
    SegmentCount {
        /// Segments carried.
        count: usize,
        /// The limit.
        max: u32,
    },
    /// The segment at a position is not the one that belongs there.
    #[error("position {position} holds segment {segment}")]
    Misplaced {
        /// Position in the proof.
        position: usize,
        /// The segment found there.
        segment: u32,
    },
    /// The last segment carries no final memory and output.
    #[error("the last segment carries no final memory")]
    NoRunEnd,
    /// A segment proof, the chaining, the challenge or the bus balance is rejected.
    #[error(transparent)]
    Rejected(#[from] AggregateError),
}

impl FinalProof {
    /// A final proof of these segment proofs, unchecked (an [`super::Aggregator`] makes
    /// checked ones; [`verify`] checks any).
    #[must_use]
    pub fn from_segments(leaves: Vec<SegmentProofBundle>) -> Self {
        Self { leaves }
    }

    /// The segment proofs, in segment order.
    #[must_use]
    pub fn segments(&self) -> &[SegmentProofBundle] {
        &self.leaves
    }

    /// What the proof claims (trust it only after [`verify`]).
    #[must_use]
    pub fn claimed_outputs(&self) -> Option<PublicOutputs> {
        let last = self.leaves.last()?;
        Some(PublicOutputs {
            exit_code: last.publics.exit_code,
            outputs: last.run_end.as_ref()?.outputs.clone(),
            cycles: last.publics.start_cycle + u64::from(last.publics.cycle_count),
        })
    }

    /// The proof as bytes: versioned header, then each segment's bundle bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            ObjectKind::FinalProof,
            &FinalBody {
                leaves: self
                    .leaves
                    .iter()
                    .map(SegmentProofBundle::to_bytes)
                    .collect(),
            },
        )
    }

    /// Decodes [`Self::to_bytes`]; any malformed input is a typed error, never a panic.
    ///
    /// # Errors
    /// Why the bytes are not a final proof.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let body: FinalBody = decode(ObjectKind::FinalProof, bytes)?;
        if body.leaves.is_empty() || body.leaves.len() > air::MAX_SEGMENTS as usize {
            return Err(FormatError::Invalid {
                what: "segment count out of range",
            });
        }
        let leaves = body
            .leaves
            .iter()
            .map(|leaf| SegmentProofBundle::from_bytes(leaf))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { leaves })
    }
}

/// Verifies that `proof` proves a run of `vk`'s program on the public `input`, and returns
/// what the run produced. Proofs must use the key's parameter set.
///
/// The global challenge is recomputed from the segments' contributions; every segment proof
/// is verified against it (in parallel), adjacent segments must chain, and the execution
/// buses must balance with the initial image, the final memory, the input and the output.
///
/// # Errors
/// Why the proof is rejected.
pub fn verify(
    vk: &VerifyingKey,
    input: &[u8],
    proof: &FinalProof,
) -> Result<PublicOutputs, VerifyError> {
    let count = proof.leaves.len();
    if count == 0 || count > air::MAX_SEGMENTS as usize {
        return Err(VerifyError::SegmentCount {
            count,
            max: air::MAX_SEGMENTS,
        });
    }
    for (position, leaf) in proof.leaves.iter().enumerate() {
        if leaf.segment() as usize != position {
            return Err(VerifyError::Misplaced {
                position,
                segment: leaf.segment(),
            });
        }
    }
    let claimed = proof.claimed_outputs().ok_or(VerifyError::NoRunEnd)?;
    let contributions: Vec<Contribution> = proof
        .leaves
        .par_iter()
        .map(|leaf| leaf.contribution().contribution())
        .collect();
    let summary = RunSummary {
        segment_count: count as u32,
        cycles: claimed.cycles,
        outputs_digest: outputs_digest(&claimed.outputs),
    };
    let challenge = derive(
        vk.program_id().as_bytes(),
        &vk.digest(),
        &summary,
        &contributions,
    );
    let context = RunContext::new(vk, input, challenge, count as u32)?;
    let nodes = proof
        .leaves
        .par_iter()
        .map(|leaf| context.check_leaf(leaf.clone(), None))
        .collect::<Result<Vec<_>, _>>()?;
    let mut forest = Forest::default();
    for node in nodes {
        forest.insert(node)?;
    }
    let root = forest.into_root(count as u32)?;
    context.check_root(&root)?;
    Ok(claimed)
}

/// [`verify`] of a final proof given as bytes.
///
/// # Errors
/// Malformed bytes, or why the proof is rejected.
pub fn verify_bytes(
    vk: &VerifyingKey,
    input: &[u8],
    proof: &[u8],
) -> Result<PublicOutputs, VerifyError> {
    verify(vk, input, &FinalProof::from_bytes(proof)?)
}
