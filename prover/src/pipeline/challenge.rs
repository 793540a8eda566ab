//! Contributions and the global challenge.
//!
//! Phase 1 of segment `k` yields a [`SegmentContribution`]: the segment index, the phase-1
//! commitment, the segment's public values, the digest of the public input and, for the
//! last segment, the digest of the final memory. Its 32-byte [`SegmentContribution::digest`]
//! binds all of it; the coordinator sees only `(k, digest)`, a [`Contribution`].
//!
//! The [`ContributionAccumulator`] is an order-independent sum of hash expansions: each
//! contribution is expanded by SHA-256 in counter mode to 4096 bits, read as 64 lanes of
//! `u64`, and added lane-wise modulo `2^64`. Sums of subtrees add, so an aggregator checks
//! the accumulator level by level however the tree is shaped. The width is what keeps the
//! sum binding with many segments: a generalised-birthday (Wagner) search for another set
//! of contributions with the same sum over `2^16` segments costs about
//! `2^(4096 / 17) > 2^240` hash evaluations (docs/soundness.md).
//!
//! The global challenge is SHA-256 over a domain tag, the program id, the verifying-key
//! digest, the run summary (segment count, cycles, digest of the public output) and the
//! accumulator ([`global_challenge`]; [`derive()`] is the same from a list of contributions).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::air::{FinalWord, SegmentPublics};
use p3_field::PrimeField32;

/// Domain tag of a contribution digest.
const CONTRIBUTION_TAG: &[u8] = b"zisk/zkvm/contribution/v1";
/// Domain tag of the accumulator's hash expansion.
const EXPANSION_TAG: &[u8] = b"zisk/zkvm/contribution-expansion/v1";
/// Domain tag of the global challenge.
const CHALLENGE_TAG: &[u8] = b"zisk/zkvm/global-challenge/v1";
/// Domain tag of the final-memory digest.
const FINAL_MEMORY_TAG: &[u8] = b"zisk/zkvm/final-memory/v1";

/// Lanes of the accumulator: 64 x 64 = 4096 bits.
pub const ACCUMULATOR_LANES: usize = 64;

/// What phase 1 of one segment commits to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentContribution {
    /// The segment's index.
    pub segment: u32,
    /// The phase-1 commitment to the segment's main traces (deterministic: redoing phase 1
    /// gives the same root).
    pub commitment: [u8; 32],
    /// The segment's public values (start and end pc, cycles, io positions, halt, exit
    /// code, index).
    pub publics: SegmentPublics,
    /// SHA-256 of the run's public input.
    pub input_digest: [u8; 32],
    /// For the last segment: the digest of the run's final memory ([`final_memory_digest`]).
    pub final_memory_digest: Option<[u8; 32]>,
}

impl SegmentContribution {
    /// SHA-256 over a domain tag and every field: the 32 bytes the coordinator sees.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(CONTRIBUTION_TAG);
        hash.update(self.segment.to_le_bytes());
        hash.update(self.commitment);
        for value in self.publics.to_field() {
            hash.update(value.as_canonical_u32().to_le_bytes());
        }
        hash.update(self.input_digest);
        match &self.final_memory_digest {
            None => hash.update([0]),
            Some(digest) => {
                hash.update([1]);
                hash.update(digest);
            }
        }
        hash.finalize().into()
    }

    /// The `(segment, digest)` pair the coordinator sees.
    #[must_use]
    pub fn contribution(&self) -> Contribution {
        Contribution {
            segment: self.segment,
            digest: self.digest(),
        }
    }
}

/// A segment's contribution as the coordinator holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Contribution {
    /// The segment's index.
    pub segment: u32,
    /// [`SegmentContribution::digest`].
    pub digest: [u8; 32],
}

/// SHA-256 of a final memory list (the last segment's contribution binds it).
#[must_use]
pub fn final_memory_digest(words: &[FinalWord]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(FINAL_MEMORY_TAG);
    hash.update((words.len() as u64).to_le_bytes());
    for word in words {
        hash.update([word.space as u8]);
        hash.update(word.address.to_le_bytes());
        hash.update(word.value.to_le_bytes());
        hash.update(word.tag.to_le_bytes());
    }
    hash.finalize().into()
}

/// An order-independent sum of contribution expansions.
#[derive(Clone, PartialEq, Eq)]
pub struct ContributionAccumulator {
    lanes: [u64; ACCUMULATOR_LANES],
    count: u64,
}

impl Default for ContributionAccumulator {
    fn default() -> Self {
        Self {
            lanes: [0; ACCUMULATOR_LANES],
            count: 0,
        }
    }
}

impl std::fmt::Debug for ContributionAccumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContributionAccumulator")
            .field("count", &self.count)
            .field("lane0", &self.lanes[0])
            .finish_non_exhaustive()
    }
}

impl ContributionAccumulator {
    /// The empty sum.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The sum of `contributions`.
    #[must_use]
    pub fn of(contributions: &[Contribution]) -> Self {
        let mut accumulator = Self::new();
        for contribution in contributions {
            accumulator.add(contribution);
        }
        accumulator
    }

    /// Adds one contribution.
    pub fn add(&mut self, contribution: &Contribution) {
        for block in 0..(ACCUMULATOR_LANES / 4) as u8 {
            let mut hash = Sha256::new();
            hash.update(EXPANSION_TAG);
            hash.update(contribution.segment.to_le_bytes());
            hash.update(contribution.digest);
            hash.update([block]);
            let bytes: [u8; 32] = hash.finalize().into();
            for (lane, chunk) in bytes.chunks_exact(8).enumerate() {
                let value = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
                let index = 4 * block as usize + lane;
                self.lanes[index] = self.lanes[index].wrapping_add(value);
            }
        }
        self.count += 1;
    }

    /// Adds another sum (of a disjoint set of contributions).
    pub fn merge(&mut self, other: &Self) {
        for (lane, value) in self.lanes.iter_mut().zip(other.lanes) {
            *lane = lane.wrapping_add(value);
        }
        self.count += other.count;
    }

    /// How many contributions were added.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The lanes as 512 little-endian bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.to_le_bytes())
            .collect()
    }
}

/// What every worker agrees on about one execution (the coordinator's execution summary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RunSummary {
    /// Number of segments.
    pub segment_count: u32,
    /// Executed instructions, the halting ECALL included.
    pub cycles: u64,
    /// SHA-256 of the public output ([`outputs_digest`]).
    pub outputs_digest: [u8; 32],
}

/// SHA-256 of the public output bytes, as the coordinator's summary carries it.
#[must_use]
pub fn outputs_digest(outputs: &[u8]) -> [u8; 32] {
    Sha256::digest(outputs).into()
}

/// SHA-256 of the public input bytes, as contributions bind it.
#[must_use]
pub fn input_digest(input: &[u8]) -> [u8; 32] {
    Sha256::digest(input).into()
}

/// The global challenge of one execution.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalChallenge(pub [u8; 32]);

impl std::fmt::Debug for GlobalChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GlobalChallenge(")?;
        for byte in &self.0[..6] {
            write!(f, "{byte:02x}")?;
        }
        write!(f, "..)")
    }
}

/// The global challenge: SHA-256 over a domain tag, the program id, the verifying-key
/// digest, the summary and the accumulator of every segment's contribution.
#[must_use]
pub fn global_challenge(
    program_id: &[u8; 32],
    verifying_key_digest: &[u8; 32],
    summary: &RunSummary,
    accumulator: &ContributionAccumulator,
) -> GlobalChallenge {
    let mut hash = Sha256::new();
    hash.update(CHALLENGE_TAG);
    hash.update(program_id);
    hash.update(verifying_key_digest);
    hash.update(summary.segment_count.to_le_bytes());
    hash.update(summary.cycles.to_le_bytes());
    hash.update(summary.outputs_digest);
    hash.update(accumulator.count.to_le_bytes());
    hash.update(accumulator.to_bytes());
    GlobalChallenge(hash.finalize().into())
}

/// The coordinator's pure derivation: [`global_challenge`] over the contributions (any
/// order; the coordinator passes them sorted by segment).
#[must_use]
pub fn derive(
    program_id: &[u8; 32],
    verifying_key_digest: &[u8; 32],
    summary: &RunSummary,
    contributions: &[Contribution],
) -> GlobalChallenge {
    global_challenge(
        program_id,
        verifying_key_digest,
        summary,
        &ContributionAccumulator::of(contributions),
    )
}
