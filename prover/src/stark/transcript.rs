//! Fiat-Shamir: how bytes enter a Poseidon2 duplex challenger, and the per-proof transcript
//! the prover and the verifier both replay.
//!
//! Order of the per-proof transcript:
//!
//! 1. domain tag, parameter set, verifying-key digest, table count and log heights,
//!    phase-1 (main) commitment, public values, global challenge bytes ([`begin`]);
//! 2. challenges of table-local lookups (two per local lookup, table by table);
//! 3. LogUp commitment (if any table has lookups) and every table's LogUp terminal;
//! 4. the constraint-folding challenge;
//! 5. quotient commitment, then the out-of-domain point `zeta`;
//! 6. the PCS opening argument (batching challenge, FRI folding, query indices).

use p3_challenger::{CanObserve, FieldChallenger};
use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};

use super::config::{Challenge, Challenger, DIGEST_ELEMS, Digest, Val, new_challenger};
use super::params::ParamSet;

/// Domain tag of the per-proof transcript.
const PROOF_TAG: &[u8] = b"zisk/segment-stark/proof/v1";

/// Observes a byte string injectively: its length as three 24-bit limbs, then the bytes in
/// little-endian groups of three, each below `2^24 < p`.
pub(crate) fn observe_bytes(challenger: &mut Challenger, bytes: &[u8]) {
    let len = bytes.len() as u64;
    for shift in [0, 24, 48] {
        challenger.observe(Val::from_u32(((len >> shift) & 0xff_ffff) as u32));
    }
    for chunk in bytes.chunks(3) {
        let mut limb = [0u8; 4];
        limb[..chunk.len()].copy_from_slice(chunk);
        challenger.observe(Val::from_u32(u32::from_le_bytes(limb)));
    }
}

/// Observes a digest (eight canonical field elements).
pub(crate) fn observe_digest(challenger: &mut Challenger, digest: &Digest) {
    challenger.observe_slice(digest);
}

/// Observes an extension element by its four base coordinates.
pub(crate) fn observe_challenge(challenger: &mut Challenger, value: &Challenge) {
    challenger
        .observe_slice(<Challenge as BasedVectorSpace<Val>>::as_basis_coefficients_slice(value));
}

/// Draws an extension element.
pub(crate) fn sample_challenge(challenger: &mut Challenger) -> Challenge {
    challenger.sample_algebra_element()
}

/// A 32-byte digest of `bytes` under a domain tag: the sponge squeezed for eight elements.
pub(crate) fn hash_bytes(tag: &[u8], bytes: &[u8]) -> Digest {
    let mut challenger = new_challenger();
    observe_bytes(&mut challenger, tag);
    observe_bytes(&mut challenger, bytes);
    let mut digest = [Val::ZERO; DIGEST_ELEMS];
    for value in &mut digest {
        *value = p3_challenger::CanSample::sample(&mut challenger);
    }
    digest
}

/// What the per-proof transcript is seeded with, before any prover message.
pub(crate) struct Statement<'a> {
    pub(crate) params: ParamSet,
    pub(crate) vk_digest: &'a Digest,
    pub(crate) log_heights: &'a [u8],
    pub(crate) main_commitment: &'a Digest,
    pub(crate) public_values: &'a [Val],
    pub(crate) global_challenge: &'a [u8],
}

/// Step 1: a challenger that has observed the statement.
pub(crate) fn begin(statement: &Statement<'_>) -> Challenger {
    let mut challenger = new_challenger();
    observe_bytes(&mut challenger, PROOF_TAG);
    challenger.observe(Val::from_u8(statement.params.id()));
    observe_digest(&mut challenger, statement.vk_digest);
    challenger.observe(Val::from_usize(statement.log_heights.len()));
    for &log_height in statement.log_heights {
        challenger.observe(Val::from_u8(log_height));
    }
    observe_digest(&mut challenger, statement.main_commitment);
    challenger.observe(Val::from_usize(statement.public_values.len()));
    challenger.observe_slice(statement.public_values);
    observe_bytes(&mut challenger, statement.global_challenge);
    challenger
}
