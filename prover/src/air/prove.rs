//! Proving and verifying one segment with the segment STARK ([`crate::stark`]): the glue
//! between the tables and the framework.
//!
//! The global challenge of a lone segment is the SHA-256 of the verifying-key digest, the
//! phase-1 commitment, the public values and every external message, so the LogUp challenges
//! come after everything the bus sums depend on. (Several segments of one run share a global
//! challenge that the aggregator derives from all their commitments; that is not here yet.)

use p3_field::PrimeField32;
use sha2::{Digest, Sha256};

use super::Val;
use super::boundary::{
    BoundaryError, BoundaryWord, ExternalMessage, check_boundary, check_initial_state,
    external_messages,
};
use super::program::ProgramTables;
use super::public::SegmentPublics;
use super::table::RvTable;
use super::witness::SegmentWitness;
use crate::stark::{
    self, BusMessage, Challenge, ParamSet, ProveError, ProveMode, ProvingKey, SegmentProof,
    SetupError, VerifyError, VerifyingKey,
};

/// Domain tag of the lone-segment global challenge.
const CHALLENGE_TAG: &[u8] = b"zisk/air/lone-segment-challenge/v1";

/// Why a segment proof was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ProveSegmentError {
    /// The public io or boundary is malformed.
    #[error(transparent)]
    Boundary(#[from] BoundaryError),
    /// The framework refused (in checked mode: a constraint or bus does not hold).
    #[error(transparent)]
    Prove(#[from] ProveError),
}

/// Why a segment proof is rejected.
#[derive(Debug, thiserror::Error)]
pub enum VerifySegmentError {
    /// The public boundary is malformed or not the program's initial state.
    #[error(transparent)]
    Boundary(#[from] BoundaryError),
    /// The proof does not verify.
    #[error(transparent)]
    Proof(#[from] VerifyError),
    /// The buses do not balance with the boundary and the public io.
    #[error("the bus sum with the external messages is not zero")]
    Unbalanced,
    /// The segment is not a whole successful run (not halted, non-zero exit code, or output
    /// left uncommitted).
    #[error("the segment is not a complete run: {what}")]
    Incomplete {
        /// What is missing.
        what: &'static str,
    },
}

/// Proving and verifying keys of `program`'s tables.
///
/// # Errors
/// The framework's [`SetupError`].
pub fn setup_program(
    program: &ProgramTables,
    params: ParamSet,
) -> Result<(ProvingKey<RvTable>, VerifyingKey), SetupError> {
    stark::setup(params, &RvTable::all(program))
}

fn bus_messages(external: &[ExternalMessage]) -> Vec<BusMessage> {
    external
        .iter()
        .map(|message| BusMessage {
            bus: message.bus.to_owned(),
            fields: message.fields.clone(),
            multiplicity: message.multiplicity,
        })
        .collect()
}

fn global_challenge(
    vk: &VerifyingKey,
    main_commitment: &[u8; 32],
    public_values: &[Val],
    external: &[ExternalMessage],
) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(CHALLENGE_TAG);
    hash.update(vk.digest());
    hash.update(main_commitment);
    let mut field = |value: &Val| hash.update(value.as_canonical_u32().to_le_bytes());
    for value in public_values {
        field(value);
    }
    for message in external {
        hash.update((message.bus.len() as u32).to_le_bytes());
        hash.update(message.bus.as_bytes());
        hash.update((message.fields.len() as u32).to_le_bytes());
        for value in message.fields.iter().chain([&message.multiplicity]) {
            hash.update(value.as_canonical_u32().to_le_bytes());
        }
    }
    hash.finalize().into()
}

/// Proves a lone segment. `input` and `output` are the run's public input and output.
/// `checked` first checks every constraint and bus (use `false` only to test the verifier).
///
/// # Errors
/// Malformed io positions, or the framework's error.
pub fn prove_segment(
    pk: &ProvingKey<RvTable>,
    witness: &SegmentWitness,
    input: &[u8],
    output: &[u8],
    checked: bool,
) -> Result<SegmentProof, ProveSegmentError> {
    let external = external_messages(&witness.publics, &witness.boundary, input, output)?;
    let messages = bus_messages(&external);
    let phase1 = stark::commit_main(pk, witness.traces.clone(), witness.public_values.clone())?;
    let challenge = global_challenge(
        pk.verifying_key(),
        &phase1.commitment(),
        &witness.public_values,
        &external,
    );
    let mode = if checked {
        ProveMode::Checked {
            external: &messages,
        }
    } else {
        ProveMode::Unchecked
    };
    Ok(stark::prove_phase2(pk, phase1, &challenge, mode)?)
}

/// What a lone-segment proof claims: `program` run on `input` halts with exit code 0 after
/// committing `output`, with these public values and this boundary.
#[derive(Clone, Copy, Debug)]
pub struct RunStatement<'a> {
    /// The segment's public values.
    pub publics: &'a SegmentPublics,
    /// The segment's boundary.
    pub boundary: &'a [BoundaryWord],
    /// The public input.
    pub input: &'a [u8],
    /// The public output.
    pub output: &'a [u8],
}

/// Verifies a lone-segment proof of `statement`.
///
/// # Errors
/// Why the proof or the statement is rejected.
pub fn verify_segment(
    vk: &VerifyingKey,
    program: &ProgramTables,
    proof: &SegmentProof,
    statement: &RunStatement<'_>,
    min_params: ParamSet,
) -> Result<(), VerifySegmentError> {
    let RunStatement {
        publics,
        boundary,
        input,
        output,
    } = *statement;
    check_boundary(program, boundary)?;
    check_initial_state(program, publics, boundary)?;
    let incomplete = |what| Err(VerifySegmentError::Incomplete { what });
    if !publics.halted || publics.exit_code != 0 {
        return incomplete("no successful halt");
    }
    if publics.output_end as usize != output.len() {
        return incomplete("output not all committed");
    }
    let external = external_messages(publics, boundary, input, output)?;
    let public_values = publics.to_field();
    let challenge = global_challenge(vk, &proof.main_commitment(), &public_values, &external);
    let tables = RvTable::all(program);
    let verified = stark::verify(vk, &tables, proof, &public_values, &challenge, min_params)?;
    let challenges = stark::derive_lookup_challenges(&challenge);
    let total: Challenge =
        verified.bus_sum + stark::external_bus_sum(&challenges, &bus_messages(&external));
    if total != Challenge::default() {
        return Err(VerifySegmentError::Unbalanced);
    }
    Ok(())
}
