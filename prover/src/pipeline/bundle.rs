//! [`SegmentProofBundle`]: one segment's proof with everything the aggregator needs besides
//! the verifying key, the public input and the global challenge.

use serde::{Deserialize, Serialize};

use super::challenge::{SegmentContribution, final_memory_digest};
use super::encoding::{FormatError, ObjectKind, decode, encode};
use crate::air::{FinalWord, SegmentPublics};
use crate::stark::SegmentProof;

/// How the run ends, carried by the last segment: the final memory that closes the `gmem`
/// bus, and the public output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    /// Registers `x1..x31` and every touched word after the run, sorted, with the tag of the
    /// last segment that touched each.
    pub final_memory: Vec<FinalWord>,
    /// The public output.
    pub outputs: Vec<u8>,
}

/// A segment proof with its public values, the digest of the public input it was made for
/// and, for the last segment, how the run ends.
#[derive(Clone, Debug)]
pub struct SegmentProofBundle {
    /// The segment's public values (its index among them).
    pub publics: SegmentPublics,
    /// SHA-256 of the run's public input.
    pub input_digest: [u8; 32],
    /// Present exactly for the last segment.
    pub run_end: Option<RunEnd>,
    /// The segment STARK proof.
    pub proof: SegmentProof,
}

#[derive(Serialize, Deserialize)]
struct BundleBody {
    publics: SegmentPublics,
    input_digest: [u8; 32],
    run_end: Option<RunEnd>,
    proof: Vec<u8>,
}

impl SegmentProofBundle {
    /// The segment's index.
    #[must_use]
    pub fn segment(&self) -> u32 {
        self.publics.segment_index
    }

    /// The contribution this proof answers for, recomputed from its commitment and data.
    #[must_use]
    pub fn contribution(&self) -> SegmentContribution {
        SegmentContribution {
            segment: self.segment(),
            commitment: self.proof.main_commitment(),
            publics: self.publics,
            input_digest: self.input_digest,
            final_memory_digest: self
                .run_end
                .as_ref()
                .map(|end| final_memory_digest(&end.final_memory)),
        }
    }

    /// The bundle as bytes: versioned header, then the body with the segment proof in its
    /// own versioned encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            ObjectKind::SegmentProofBundle,
            &BundleBody {
                publics: self.publics,
                input_digest: self.input_digest,
                run_end: self.run_end.clone(),
                proof: self.proof.to_bytes(),
            },
        )
    }

    /// Decodes [`Self::to_bytes`]; any malformed input is a typed error, never a panic.
    ///
    /// # Errors
    /// Why the bytes are not a bundle.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let body: BundleBody = decode(ObjectKind::SegmentProofBundle, bytes)?;
        Ok(Self {
            publics: body.publics,
            input_digest: body.input_digest,
            run_end: body.run_end,
            proof: SegmentProof::from_bytes(&body.proof)?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct BatchBody {
    bundles: Vec<Vec<u8>>,
}

/// Several bundles as bytes (a worker's proofs of one partition): versioned header, then
/// each bundle's bytes.
#[must_use]
pub fn bundles_to_bytes(bundles: &[SegmentProofBundle]) -> Vec<u8> {
    encode(
        ObjectKind::BundleBatch,
        &BatchBody {
            bundles: bundles.iter().map(SegmentProofBundle::to_bytes).collect(),
        },
    )
}

/// Decodes [`bundles_to_bytes`]; any malformed input is a typed error.
///
/// # Errors
/// Why the bytes are not a batch of bundles.
pub fn bundles_from_bytes(bytes: &[u8]) -> Result<Vec<SegmentProofBundle>, FormatError> {
    let body: BatchBody = decode(ObjectKind::BundleBatch, bytes)?;
    body.bundles
        .iter()
        .map(|bundle| SegmentProofBundle::from_bytes(bundle))
        .collect()
}
