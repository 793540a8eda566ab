//! The segment STARK: a multi-table, two-phase STARK on Plonky3 0.8 building blocks.
//!
//! This module knows nothing of RISC-V; the tables come from `crate::air`. It implements the
//! contract of docs/stark-design.md:
//!
//! 1. [`setup`] evaluates every table symbolically (constraints, degree, buses), commits the
//!    preprocessed traces and returns a [`ProvingKey`] and a [`VerifyingKey`] (serialisable,
//!    named by a 32-byte digest).
//! 2. [`commit_main`] commits every main trace in one commitment ([`Phase1::commitment`]).
//! 3. The caller derives a global challenge from the phase-1 commitments of all segments of
//!    an execution. [`derive_lookup_challenges`] turns it into one LogUp challenge pair per
//!    bus, so bus sums of different segments add up. Buses that must balance inside each
//!    proof are made [`BusScope::Proof`] at setup ([`setup_with_execution_buses`]): their
//!    pairs also depend on the proof's own statement.
//! 4. [`prove_phase2`] builds the LogUp columns (`p3_lookup::LogUpGadget`) under those
//!    challenges, commits them, computes and commits the quotient, opens and runs FRI;
//!    [`ProveMode::Checked`] first checks every constraint and every bus.
//! 5. [`verify`] checks a [`SegmentProof`] and returns [`Verified`]: the phase-1 commitment
//!    and the bus sum, to which the caller adds external messages ([`bus_fraction`]).
//!
//! Tables are ordinary Plonky3 AIRs written over [`p3_lookup::InteractionBuilder`]; any such
//! AIR is a [`Table`]. Bus messages use `push_interaction(bus_name, fields, count)`; a bus
//! is identified by its name alone. Constraint degree is at most [`MAX_CONSTRAINT_DEGREE`].
//!
//! A complete use, run as the test `the_module_example_runs` in tests/stark_framework.rs
//! (as a doctest it needs `RUSTDOCFLAGS="-C target-cpu=native"`: rustdoc does not get the
//! workspace's rustflags, and Plonky3's AVX-512 code then fails to compile):
//!
//! ```ignore
//! use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
//! use p3_field::PrimeCharacteristicRing;
//! use p3_lookup::InteractionBuilder;
//! use p3_matrix::dense::RowMajorMatrix;
//! use zisk_prover::stark::{self, ParamSet, ProveMode, Val};
//!
//! /// Sends the values 0..n on bus "numbers"; the verifier receives them externally.
//! #[derive(Clone)]
//! struct Counter;
//!
//! impl BaseAir<Val> for Counter {
//!     fn width(&self) -> usize { 1 }
//! }
//!
//! impl<AB: InteractionBuilder<F = Val>> Air<AB> for Counter {
//!     fn eval(&self, builder: &mut AB) {
//!         let main = builder.main();
//!         let (x, next) = (main.current(0).unwrap(), main.next(0).unwrap());
//!         builder.when_first_row().assert_zero(x);
//!         builder.when_transition().assert_eq(next, x + AB::Expr::ONE);
//!         builder.push_interaction("numbers", [x], 1);
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (pk, vk) = stark::setup(ParamSet::Test, &[Counter])?;
//! let trace = RowMajorMatrix::new((0..8u32).map(Val::from_u32).collect(), 1);
//! let phase1 = stark::commit_main(&pk, vec![trace], vec![])?;
//! // One segment, no public values, fixed external messages: its own commitment suffices.
//! // In general the global challenge must also bind the verifying-key digest, the public
//! // values and every external message (see docs/soundness.md).
//! let global_challenge = phase1.commitment();
//!
//! let challenges = stark::derive_lookup_challenges(&global_challenge);
//! let external: Vec<_> = (0..8u32)
//!     .map(|i| stark::BusMessage::receive("numbers", vec![Val::from_u32(i)]))
//!     .collect();
//! let proof = stark::prove_phase2(&pk, phase1, &global_challenge, ProveMode::Checked { external: &external })?;
//!
//! let proof = stark::SegmentProof::from_bytes(&proof.to_bytes())?;
//! let verified = stark::verify(&vk, &[Counter], &proof, &[], &global_challenge, ParamSet::Test)?;
//! let total = verified.bus_sum + stark::external_bus_sum(&challenges, &external);
//! assert_eq!(total, stark::Challenge::ZERO);
//! # Ok(())
//! # }
//! ```

pub mod builders;
mod challenges;
mod check;
mod config;
mod encoding;
mod errors;
mod keys;
mod params;
mod phase1;
mod proof;
mod prover;
mod quotient;
mod table;
mod transcript;
mod verifier;

pub use challenges::{
    BusChallenges, BusMessage, LookupChallenges, bus_fraction, derive_lookup_challenges,
    external_bus_sum,
};
pub use config::{Challenge, Val};
pub use encoding::{FORMAT_VERSION, MAX_KEY_BYTES, MAX_PROOF_BYTES};
pub use errors::{ProofFormatError, ProveError, SetupError, VerifyError};
pub use keys::{
    BusScope, MIN_TABLE_LOG_HEIGHT, ProvingKey, TableShape, VerifyingKey, setup,
    setup_with_execution_buses,
};
pub use params::{
    CHALLENGE_FIELD_BITS, FriNumbers, HASH_COLLISION_BITS, MAX_LDE_LOG_HEIGHT, ParamSet,
};
pub use phase1::{Phase1, commit_main};
pub use proof::SegmentProof;
pub use prover::{ProveMode, prove_phase2};
pub use table::{MAX_CONSTRAINT_DEGREE, Table};
pub use verifier::{Verified, verify};
