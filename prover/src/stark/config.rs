//! The concrete instantiation: KoalaBear, its quartic extension, Poseidon2 and FRI.
//!
//! Everything generic in Plonky3 is fixed here once, so the rest of the module names
//! concrete types.

use std::sync::OnceLock;

use p3_challenger::DuplexChallenger;
use p3_commit::{ExtensionMmcs, Mmcs, Pcs as PcsTrait};
use p3_dft::Radix2DitParallel;
use p3_field::extension::BinomialExtensionField;
use p3_field::{ExtensionField, Field, PrimeCharacteristicRing, PrimeField32};
use p3_fri::{FriParameters, FriProverError, TwoAdicFriPcs};
use p3_koala_bear::{KoalaBear, Poseidon2KoalaBear, default_koalabear_poseidon2_16};
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_symmetric::{MerkleCap, PaddingFreeSponge, TruncatedPermutation};

use super::params::ParamSet;

/// The base field: KoalaBear, `p = 2^31 - 2^24 + 1`.
pub type Val = KoalaBear;

/// The challenge field: the degree-4 binomial extension of [`Val`] (about 2^124 elements).
pub type Challenge = BinomialExtensionField<Val, 4>;

/// Width of the Poseidon2 permutation (sponge, compression and Fiat-Shamir).
const PERM_WIDTH: usize = 16;
/// Field elements in one digest: 8 x 31 bits (about 124 bits of collision resistance).
pub(crate) const DIGEST_ELEMS: usize = 8;
/// Sponge rate in field elements.
const RATE: usize = 8;

pub(crate) type Perm = Poseidon2KoalaBear<PERM_WIDTH>;
type Hasher = PaddingFreeSponge<Perm, PERM_WIDTH, RATE, DIGEST_ELEMS>;
type Compressor = TruncatedPermutation<Perm, 2, DIGEST_ELEMS, PERM_WIDTH>;
pub(crate) type ValMmcs = MerkleTreeMmcs<
    <Val as Field>::Packing,
    <Val as Field>::Packing,
    Hasher,
    Compressor,
    2,
    DIGEST_ELEMS,
>;
type ChallengeMmcs = ExtensionMmcs<Val, Challenge, ValMmcs>;
type Dft = Radix2DitParallel<Val>;
pub(crate) type Pcs = TwoAdicFriPcs<Val, Dft, ValMmcs, ChallengeMmcs>;
pub(crate) type Challenger = DuplexChallenger<Val, Perm, PERM_WIDTH, RATE>;
pub(crate) type PackedVal = <Val as Field>::Packing;
pub(crate) type PackedChallenge = <Challenge as ExtensionField<Val>>::ExtensionPacking;
pub(crate) type Domain = <Pcs as PcsTrait<Challenge, Challenger>>::Domain;
pub(crate) type Commitment = <ValMmcs as Mmcs<Val>>::Commitment;
pub(crate) type PcsProverData = <Pcs as PcsTrait<Challenge, Challenger>>::ProverData;
pub(crate) type PcsProof = <Pcs as PcsTrait<Challenge, Challenger>>::Proof;

/// A Merkle root: the digest of one commitment, as field elements.
pub(crate) type Digest = [Val; DIGEST_ELEMS];

/// The fixed Poseidon2 permutation (Plonky3's published KoalaBear constants).
pub(crate) fn permutation() -> Perm {
    static PERM: OnceLock<Perm> = OnceLock::new();
    PERM.get_or_init(default_koalabear_poseidon2_16).clone()
}

/// A fresh Fiat-Shamir challenger.
pub(crate) fn new_challenger() -> Challenger {
    Challenger::new(permutation())
}

/// The polynomial commitment scheme for one parameter set.
pub(crate) fn pcs(params: ParamSet) -> Pcs {
    let numbers = params.fri();
    let perm = permutation();
    // Cap height 0: every commitment is a single 8-element root.
    let val_mmcs = ValMmcs::new(Hasher::new(perm.clone()), Compressor::new(perm), 0);
    let fri = FriParameters {
        log_blowup: numbers.log_blowup,
        log_final_poly_len: numbers.log_final_poly_len,
        max_log_arity: numbers.max_log_arity,
        num_queries: numbers.num_queries,
        batch_proof_of_work_bits: 0,
        commit_proof_of_work_bits: numbers.commit_pow_bits,
        query_proof_of_work_bits: numbers.query_pow_bits,
        mmcs: ChallengeMmcs::new(val_mmcs.clone()),
    };
    Pcs::new(Dft::default(), val_mmcs, fri)
}

/// The trace domain of `height` rows (the subgroup of that order).
pub(crate) fn trace_domain(pcs: &Pcs, height: usize) -> Domain {
    <Pcs as PcsTrait<Challenge, Challenger>>::natural_domain_for_degree(pcs, height)
}

/// Commits to `inputs` (evaluations over their domains) in one Merkle commitment.
pub(crate) fn commit(
    pcs: &Pcs,
    inputs: Vec<(Domain, RowMajorMatrix<Val>)>,
) -> Result<(Commitment, PcsProverData), FriProverError> {
    <Pcs as PcsTrait<Challenge, Challenger>>::commit(pcs, inputs)
}

/// The single root of a cap-height-0 commitment.
pub(crate) fn commitment_digest(commitment: &Commitment) -> Digest {
    let roots = commitment.roots();
    assert_eq!(roots.len(), 1, "commitments are made with cap height 0");
    roots[0]
}

/// The commitment whose single root is `digest`.
pub(crate) fn digest_commitment(digest: Digest) -> Commitment {
    MerkleCap::new(vec![digest])
}

/// A digest as 32 bytes: each element's canonical value, little-endian.
pub(crate) fn digest_bytes(digest: &Digest) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (chunk, value) in bytes.chunks_exact_mut(4).zip(digest) {
        chunk.copy_from_slice(&value.as_canonical_u32().to_le_bytes());
    }
    bytes
}

/// The digest whose byte form is `bytes`, or `None` if an element is not canonical.
pub(crate) fn bytes_digest(bytes: &[u8; 32]) -> Option<Digest> {
    let mut digest = [Val::ZERO; DIGEST_ELEMS];
    for (value, chunk) in digest.iter_mut().zip(bytes.chunks_exact(4)) {
        let raw = u32::from_le_bytes(chunk.try_into().expect("chunks of 4"));
        if raw >= Val::ORDER_U32 {
            return None;
        }
        *value = Val::from_u32(raw);
    }
    Some(digest)
}
