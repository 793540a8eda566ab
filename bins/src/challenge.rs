//! The interim global-challenge derivation. The prover will supply the real one with the
//! STARK (a Fiat-Shamir transcript over the phase-1 commitments); until then the
//! coordinator hashes the same inputs with SHA-256 so the protocol path is complete.

use sha2::{Digest as _, Sha256};
use zisk_core::{
    Challenge, ChallengeDerivation, Contribution, Digest, ExecutionSummary, ProgramId,
};

/// SHA-256 over the program, its verifying key, the summary and every contribution in
/// segment order.
#[derive(Clone, Copy, Debug, Default)]
pub struct InterimChallenge;

impl ChallengeDerivation for InterimChallenge {
    fn derive(
        &self,
        program: &ProgramId,
        verifying_key: &Digest,
        summary: &ExecutionSummary,
        contributions: &[Contribution],
    ) -> Challenge {
        let mut hash = Sha256::new();
        hash.update(b"zisk-interim-challenge-v1");
        hash.update(program.0);
        hash.update(verifying_key.0);
        hash.update(summary.segment_count.to_le_bytes());
        hash.update(summary.cycles.to_le_bytes());
        hash.update(summary.outputs_digest.0);
        for contribution in contributions {
            hash.update(contribution.segment.0.to_le_bytes());
            hash.update(contribution.commitment.0);
        }
        Challenge(hash.finalize().to_vec().into())
    }
}
