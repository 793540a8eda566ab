//! Parameter sets: the FRI and proof-of-work numbers a proof is made with.
//!
//! Every proof names its set in its header. A verifier is told the weakest set it accepts
//! ([`ParamSet::is_at_least`]) and refuses proofs made with a weaker one. The security
//! computation is stated in docs/soundness.md, "Proof system parameters", and checked by
//! [`ParamSet::conjectured_security_bits`].

use serde::{Deserialize, Serialize};

/// Bits in the challenge field: `4 x log2(p) = 123.96` for KoalaBear, rounded down.
pub const CHALLENGE_FIELD_BITS: u32 = 123;

/// Collision resistance of the Poseidon2 digests and sponge capacity, in bits
/// (8 elements of 31 bits, halved for the birthday bound).
pub const HASH_COLLISION_BITS: u32 = 124;

/// Two-adicity of KoalaBear: the largest evaluation domain has `2^24` points.
pub const MAX_LDE_LOG_HEIGHT: usize = 24;

/// A named parameter set. Ordered by strength: `Test < Production`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ParamSet {
    /// Fast and insecure (about 16 bits): unit tests only.
    Test,
    /// At least 100 bits of conjectured security for every trace size the field allows.
    Production,
}

/// The numbers behind a [`ParamSet`], passed to Plonky3's `FriParameters`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FriNumbers {
    /// Log2 of the Reed-Solomon blowup (rate `2^-log_blowup`).
    pub log_blowup: usize,
    /// Log2 of the length of the final FRI polynomial, sent in the clear.
    pub log_final_poly_len: usize,
    /// Log2 of the largest folding arity.
    pub max_log_arity: usize,
    /// FRI queries.
    pub num_queries: usize,
    /// Proof-of-work bits before the query indices are drawn.
    pub query_pow_bits: usize,
    /// Proof-of-work bits before each folding challenge.
    pub commit_pow_bits: usize,
}

impl ParamSet {
    /// Every set, weakest first.
    pub const ALL: [Self; 2] = [Self::Test, Self::Production];

    /// The byte that names this set in a proof header.
    #[must_use]
    pub const fn id(self) -> u8 {
        match self {
            Self::Test => 1,
            Self::Production => 2,
        }
    }

    /// The set named by a header byte.
    #[must_use]
    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Test),
            2 => Some(Self::Production),
            _ => None,
        }
    }

    /// Whether a proof made with `self` is acceptable to a verifier whose minimum is `min`.
    #[must_use]
    pub fn is_at_least(self, min: Self) -> bool {
        self >= min
    }

    /// The FRI numbers of this set.
    #[must_use]
    pub const fn fri(self) -> FriNumbers {
        match self {
            Self::Test => FriNumbers {
                log_blowup: 2,
                log_final_poly_len: 0,
                max_log_arity: 1,
                num_queries: 8,
                query_pow_bits: 0,
                commit_pow_bits: 0,
            },
            Self::Production => FriNumbers {
                log_blowup: 2,
                log_final_poly_len: 0,
                max_log_arity: 3,
                num_queries: 50,
                query_pow_bits: 16,
                commit_pow_bits: 0,
            },
        }
    }

    /// Largest log2 trace height a table may have under this set.
    ///
    /// The LDE must fit the field's two-adic subgroup (`2^24`). Production stops one bit
    /// earlier, at an LDE of `2^23` points, so that the field term of
    /// [`Self::conjectured_security_bits`] stays at 100 bits or more.
    #[must_use]
    pub const fn max_table_log_height(self) -> usize {
        match self {
            Self::Test => MAX_LDE_LOG_HEIGHT - self.fri().log_blowup,
            Self::Production => MAX_LDE_LOG_HEIGHT - 1 - self.fri().log_blowup,
        }
    }

    /// Conjectured security in bits of a proof whose largest LDE domain has
    /// `2^lde_log_height` points, by the ethSTARK conjecture as Winterfell states it:
    /// the minimum of the query phase (`log_blowup * queries + grinding`), the field term
    /// (`challenge field bits - log2 |LDE|`, covering DEEP-ALI and FRI folding) and hash
    /// collision resistance. docs/soundness.md explains each term and the LogUp term.
    #[must_use]
    pub const fn conjectured_security_bits(self, lde_log_height: usize) -> u32 {
        let fri = self.fri();
        let query = (fri.log_blowup * fri.num_queries + fri.query_pow_bits) as u32;
        let field = CHALLENGE_FIELD_BITS.saturating_sub(lde_log_height as u32);
        let mut bits = query;
        if field < bits {
            bits = field;
        }
        if HASH_COLLISION_BITS < bits {
            bits = HASH_COLLISION_BITS;
        }
        bits
    }
}

impl std::fmt::Display for ParamSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Test => f.write_str("test"),
            Self::Production => f.write_str("production"),
        }
    }
}
