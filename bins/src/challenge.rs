//! The coordinator's global-challenge derivation: the prover's own
//! [`zisk_prover::pipeline::derive`], an order-independent accumulation of every segment's
//! contribution bound to the program, its verifying key and the execution summary. The
//! aggregator checks the final proof against the same derivation, so a challenge the
//! coordinator derived differently would make every proof of the job fail.

use zisk_core::{
    Challenge, ChallengeDerivation, Contribution, Digest, ExecutionSummary, ProgramId,
};
use zisk_prover::pipeline::{self, RunSummary};

/// [`pipeline::derive`] over the core's types.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProverChallenge;

impl ChallengeDerivation for ProverChallenge {
    fn derive(
        &self,
        program: &ProgramId,
        verifying_key: &Digest,
        summary: &ExecutionSummary,
        contributions: &[Contribution],
    ) -> Challenge {
        let contributions: Vec<pipeline::Contribution> = contributions
            .iter()
            .map(|contribution| pipeline::Contribution {
                segment: contribution.segment.0,
                digest: contribution.commitment.0,
            })
            .collect();
        let summary = RunSummary {
            segment_count: summary.segment_count,
            cycles: summary.cycles,
            outputs_digest: summary.outputs_digest.0,
        };
        let challenge = pipeline::derive(&program.0, &verifying_key.0, &summary, &contributions);
        Challenge(challenge.0.to_vec().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zisk_core::SegmentIndex;

    fn contribution(segment: u32, byte: u8) -> Contribution {
        Contribution {
            segment: SegmentIndex(segment),
            commitment: Digest([byte; 32]),
        }
    }

    #[test]
    fn the_challenge_is_the_provers_and_changes_with_any_contribution() {
        let summary = ExecutionSummary {
            segment_count: 2,
            cycles: 100,
            outputs_digest: Digest([7; 32]),
        };
        let program = ProgramId([1; 32]);
        let key = Digest([2; 32]);
        let contributions = [contribution(0, 3), contribution(1, 4)];
        let ours = ProverChallenge.derive(&program, &key, &summary, &contributions);
        let theirs = pipeline::derive(
            &program.0,
            &key.0,
            &RunSummary {
                segment_count: 2,
                cycles: 100,
                outputs_digest: [7; 32],
            },
            &[
                pipeline::Contribution {
                    segment: 0,
                    digest: [3; 32],
                },
                pipeline::Contribution {
                    segment: 1,
                    digest: [4; 32],
                },
            ],
        );
        assert_eq!(&*ours.0, theirs.0.as_slice());
        let changed = ProverChallenge.derive(
            &program,
            &key,
            &summary,
            &[contribution(0, 3), contribution(1, 5)],
        );
        assert_ne!(ours, changed);
    }
}
