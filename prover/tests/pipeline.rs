//! Multi-segment runs through the pipeline: every guest proves in 2, 3 and 8 (or 9)
//! segments and verifies; the aggregator folds proofs in any order; and every way of
//! breaking the run (a proof from another run, a dropped or swapped segment, a value no
//! earlier segment wrote, a wrong global challenge, a contribution that does not match its
//! proof) is rejected by the aggregator and by `verify`.

mod air_common;
mod pipeline_common;

use std::sync::OnceLock;

use air_common::{Run, record_run, sha256_input, sort_input, update};
use pipeline_common::{Proved, aggregate, elf, keys, prove_witnesses, summary};
use zisk_prover::air::TableKind::Boundary;
use zisk_prover::air::bus::MemorySpace;
use zisk_prover::air::layout::boundary;
use zisk_prover::pipeline::{
    self, Added, AggregateError, Aggregator, Checks, Contribution, FinalProof, FormatError,
    GlobalChallenge, LeafError, LocalOptions, ProveError, SegmentProofBundle, VerifyError,
    VerifyingKey, bundles_from_bytes, bundles_to_bytes, check_redo, derive, prove_local, verify,
    verify_bytes, verify_segment_proof,
};

/// Proves `name` on `input` in segments of `2^log2` cycles with the local pipeline, checks
/// the segment count, and verifies the proof (also through bytes).
fn prove_and_verify(name: &str, input: &[u8], log2: u32, segments: u32) {
    let (pk, vk) = keys(name);
    let options = LocalOptions {
        segment_cycles_log2: log2,
        keep_phase1: true,
        ..LocalOptions::default()
    };
    let proved = prove_local(pk, input, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(proved.report.summary.segment_count, segments, "{name}");
    let bytes = proved.proof.to_bytes();
    let outputs = verify_bytes(vk, input, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(outputs, proved.outputs);
    assert_eq!(outputs.outputs, proved.report.outputs);
    assert_eq!(outputs.cycles, proved.report.summary.cycles);
    assert_eq!(outputs.exit_code, 0);
}

// Every segment proof costs about a second here whatever its length (the range16 and bytes
// tables have 2^16 rows): the whole matrix is about 50 segment proofs, one test per guest so
// that they run in parallel.

#[test]
fn fibonacci_proves_in_2_3_and_8_segments_and_verifies() {
    prove_and_verify("fibonacci", &30u32.to_le_bytes(), 8, 2);
    prove_and_verify("fibonacci", &30u32.to_le_bytes(), 7, 3);
    prove_and_verify("fibonacci", &90u32.to_le_bytes(), 7, 8);
}

#[test]
fn sha256_proves_in_2_3_and_8_segments_and_verifies() {
    prove_and_verify("sha256", &sha256_input(64), 13, 2);
    prove_and_verify("sha256", &sha256_input(64), 12, 3);
    prove_and_verify("sha256", &sha256_input(128), 11, 8);
}

#[test]
fn sort_proves_in_2_3_and_8_segments_and_verifies() {
    prove_and_verify("sort", &sort_input(16), 10, 2);
    prove_and_verify("sort", &sort_input(16), 9, 3);
    prove_and_verify("sort", &sort_input(14), 7, 8);
}

#[test]
fn rv32im_proves_in_2_3_and_9_segments_and_verifies() {
    prove_and_verify("rv32im", &[], 13, 2);
    prove_and_verify("rv32im", &[], 12, 3);
    prove_and_verify("rv32im", &[], 10, 9);
}

/// Fibonacci(30) in 3 segments of 128 cycles, recorded and proved.
fn fibonacci_run() -> &'static (Run, Proved) {
    static RUN: OnceLock<(Run, Proved)> = OnceLock::new();
    RUN.get_or_init(|| {
        let run = record_run("fibonacci", &30u32.to_le_bytes(), 7);
        assert_eq!(run.witnesses.len(), 3);
        let proved = prove_witnesses(
            &keys("fibonacci").0,
            &run,
            run.witnesses.clone(),
            Checks::Constraints,
            None,
        )
        .expect("honest");
        (run, proved)
    })
}

fn vk() -> &'static VerifyingKey {
    &keys("fibonacci").1
}

/// Aggregates `bundles` of the fibonacci run under its challenge.
fn aggregate_run(bundles: Vec<SegmentProofBundle>) -> Result<FinalProof, AggregateError> {
    let (run, proved) = fibonacci_run();
    aggregate(vk(), &run.input, proved.challenge, bundles, 3)
}

fn verify_leaves(leaves: Vec<SegmentProofBundle>) -> Result<(), VerifyError> {
    let (run, _) = fibonacci_run();
    verify(vk(), &run.input, &FinalProof::from_segments(leaves)).map(drop)
}

#[test]
fn the_aggregator_folds_proofs_in_any_order_and_ignores_duplicates() {
    let (run, proved) = fibonacci_run();
    let in_order = aggregate_run(proved.bundles.clone()).expect("in order");
    for order in [[2, 0, 1], [1, 2, 0], [2, 1, 0]] {
        let mut aggregator =
            Aggregator::new(vk(), &run.input, proved.challenge, 3).expect("aggregator");
        for (step, &segment) in order.iter().enumerate() {
            assert_eq!(aggregator.missing().len(), 3 - step);
            let bundle = proved.bundles[segment].clone();
            assert_eq!(aggregator.add(bundle.clone()).unwrap(), Added::Folded);
            assert_eq!(aggregator.add(bundle).unwrap(), Added::Duplicate);
        }
        assert!(aggregator.is_complete());
        let proof = aggregator.finish().expect("complete");
        assert_eq!(proof.to_bytes(), in_order.to_bytes());
    }
    verify(vk(), &run.input, &in_order).expect("verifies");
}

#[test]
fn a_segment_proof_from_another_run_is_rejected() {
    let (run, proved) = fibonacci_run();
    // The same program and input cut into segments of 256 cycles: its segment 0 starts
    // where ours does but is another segment, proved under another challenge.
    let other = prove_local(
        &keys("fibonacci").0,
        &run.input,
        &LocalOptions {
            segment_cycles_log2: 8,
            keep_phase1: true,
            ..LocalOptions::default()
        },
    )
    .expect("other run");
    let mut bundles = proved.bundles.clone();
    bundles[0] = other.proof.segments()[0].clone();
    let error = aggregate_run(bundles.clone()).expect_err("rejected");
    assert!(
        matches!(
            error,
            AggregateError::Leaf {
                segment: 0,
                source: LeafError::Proof(_)
            }
        ),
        "{error}"
    );
    assert!(verify_leaves(bundles).is_err());

    // Another input: refused before the proof is even checked.
    let other_input = prove_local(
        &keys("fibonacci").0,
        &31u32.to_le_bytes(),
        &LocalOptions {
            segment_cycles_log2: 8,
            keep_phase1: true,
            ..LocalOptions::default()
        },
    )
    .expect("other input");
    let mut bundles = proved.bundles.clone();
    bundles[1] = other_input.proof.segments()[1].clone();
    let error = aggregate_run(bundles.clone()).expect_err("rejected");
    assert!(
        matches!(
            error,
            AggregateError::Leaf {
                segment: 1,
                source: LeafError::InputDigest
            }
        ),
        "{error}"
    );
    assert!(verify_leaves(bundles).is_err());
}

#[test]
fn a_dropped_segment_is_rejected() {
    let (_, proved) = fibonacci_run();
    for dropped in 0..3 {
        let mut bundles = proved.bundles.clone();
        bundles.remove(dropped);
        let error = aggregate_run(bundles.clone()).expect_err("incomplete");
        assert_eq!(
            error,
            AggregateError::Missing {
                segment: dropped as u32
            }
        );
        let error = verify_leaves(bundles).expect_err("rejected");
        assert!(
            matches!(error, VerifyError::Misplaced { .. } | VerifyError::NoRunEnd),
            "{error}"
        );
    }
}

#[test]
fn two_swapped_segments_are_rejected() {
    let (_, proved) = fibonacci_run();
    // Out of order in the final proof.
    let mut bundles = proved.bundles.clone();
    bundles.swap(0, 1);
    assert!(matches!(
        verify_leaves(bundles),
        Err(VerifyError::Misplaced {
            position: 0,
            segment: 1
        })
    ));
    // Relabelled: each proof claims the other's index.
    let mut bundles = proved.bundles.clone();
    bundles[0].publics.segment_index = 1;
    bundles[1].publics.segment_index = 0;
    let error = aggregate_run(bundles.clone()).expect_err("rejected");
    assert!(matches!(error, AggregateError::Leaf { .. }), "{error}");
    bundles.swap(0, 1);
    assert!(verify_leaves(bundles).is_err());
}

#[test]
fn a_value_no_earlier_segment_wrote_is_rejected() {
    let (run, _) = fibonacci_run();
    let (pk, _) = keys("fibonacci");
    // Segment 2 opens a register it never accesses with another value than segment 1 left
    // there, and passes it on: the segment's own buses balance, so the proof is made with
    // every constraint checked; only the cross-segment bus exposes it. (A start value
    // claimed from the initial image instead of segment 1 is the same imbalance; see
    // air_negative_tables.rs.)
    let segment = 2;
    let row = run.witnesses[segment]
        .boundary
        .iter()
        .position(|w| w.space == MemorySpace::Register && w.last_timestamp == 0)
        .expect("a register the segment does not touch");
    let mut witnesses = run.witnesses.clone();
    update(
        &mut witnesses[segment],
        Boundary,
        row,
        boundary::START,
        |v| v ^ 1,
    );
    update(&mut witnesses[segment], Boundary, row, boundary::END, |v| {
        v ^ 1
    });
    let proved =
        prove_witnesses(pk, run, witnesses, Checks::Constraints, None).expect("locally valid");
    let error = aggregate(
        vk(),
        &run.input,
        proved.challenge,
        proved.bundles.clone(),
        3,
    )
    .expect_err("rejected");
    assert_eq!(error, AggregateError::Unbalanced);
    let error =
        verify(vk(), &run.input, &FinalProof::from_segments(proved.bundles)).expect_err("rejected");
    assert_eq!(error, VerifyError::Rejected(AggregateError::Unbalanced));
}

#[test]
fn a_wrong_global_challenge_is_rejected() {
    let (run, proved) = fibonacci_run();
    let (pk, _) = keys("fibonacci");
    // Proofs made under a challenge that the contributions do not derive.
    let wrong = GlobalChallenge([9; 32]);
    let under_wrong =
        prove_witnesses(pk, run, run.witnesses.clone(), Checks::None, Some(wrong)).expect("proofs");
    let error = aggregate(vk(), &run.input, wrong, under_wrong.bundles.clone(), 3)
        .expect_err("rejected at the root");
    assert_eq!(error, AggregateError::ChallengeMismatch);
    let error = verify(
        vk(),
        &run.input,
        &FinalProof::from_segments(under_wrong.bundles.clone()),
    )
    .expect_err("rejected");
    assert!(
        matches!(
            error,
            VerifyError::Rejected(AggregateError::Leaf {
                source: LeafError::Proof(_),
                ..
            })
        ),
        "{error}"
    );
    // Honest proofs checked against a wrong challenge, and the other way round.
    let error = aggregate(vk(), &run.input, wrong, proved.bundles.clone(), 3).expect_err("no");
    assert!(
        matches!(error, AggregateError::Leaf { segment: 0, .. }),
        "{error}"
    );
    let error =
        aggregate(vk(), &run.input, proved.challenge, under_wrong.bundles, 3).expect_err("no");
    assert!(
        matches!(error, AggregateError::Leaf { segment: 0, .. }),
        "{error}"
    );
}

#[test]
fn a_contribution_that_does_not_match_its_proof_is_rejected() {
    let (run, proved) = fibonacci_run();
    let (pk, _) = keys("fibonacci");
    // The worker of segment 1 sent the contribution of another trace in phase 1 (here: its
    // witness with one boundary row changed), then proved the real one.
    let mut witnesses = run.witnesses.clone();
    update(&mut witnesses[1], Boundary, 0, boundary::LAST_TS, |v| v + 1);
    let claimed = pipeline_common::phase1(pk, run, witnesses).expect("phase 1")[1]
        .contribution()
        .contribution();
    let mut contributions: Vec<Contribution> = proved.contributions.clone();
    contributions[1] = claimed;
    let challenge = derive(
        vk().program_id().as_bytes(),
        &vk().digest(),
        &summary(run),
        &contributions,
    );
    let honest = prove_witnesses(
        pk,
        run,
        run.witnesses.clone(),
        Checks::None,
        Some(challenge),
    )
    .expect("proofs");

    // With the claimed contributions the aggregator refuses segment 1 on arrival...
    let mut aggregator = Aggregator::new(vk(), &run.input, challenge, 3).expect("aggregator");
    aggregator.expect_contributions(&contributions);
    let _ = aggregator
        .add(honest.bundles[0].clone())
        .expect("segment 0 matches");
    let error = aggregator
        .add(honest.bundles[1].clone())
        .expect_err("segment 1");
    assert_eq!(
        error,
        AggregateError::Leaf {
            segment: 1,
            source: LeafError::ContributionMismatch
        }
    );
    // ...and without them the root's challenge check does; `verify` recomputes the
    // challenge from the proofs, under which they were not made.
    let error =
        aggregate(vk(), &run.input, challenge, honest.bundles.clone(), 3).expect_err("rejected");
    assert_eq!(error, AggregateError::ChallengeMismatch);
    assert!(verify_leaves(honest.bundles).is_err());
}

#[test]
fn redone_phase_1_gives_the_same_contributions_and_a_faulty_one_is_detected() {
    let (run, proved) = fibonacci_run();
    let (pk, _) = keys("fibonacci");
    let redone = check_redo(pk, &run.input, 7, &proved.contributions).expect("identical");
    assert_eq!(redone.len(), 3);
    let mut claimed = proved.contributions.clone();
    claimed[2].digest[0] ^= 1;
    assert!(matches!(
        check_redo(pk, &run.input, 7, &claimed),
        Err(ProveError::RedoMismatch { segment: 2 })
    ));
    // The worker's `contribute` gives the same contributions as the test's witnesses.
    let contributed = pipeline::contribute(pk, &run.input, 7, &[2, 0]).expect("phase 1");
    assert_eq!(
        contributed[0].contribution().contribution(),
        proved.contributions[0]
    );
    assert_eq!(
        contributed[1].contribution().contribution(),
        proved.contributions[2]
    );
}

#[test]
fn a_wrong_public_input_is_rejected() {
    let (_, proved) = fibonacci_run();
    let error = verify(
        vk(),
        &31u32.to_le_bytes(),
        &FinalProof::from_segments(proved.bundles.clone()),
    )
    .expect_err("rejected");
    assert!(
        matches!(
            error,
            VerifyError::Rejected(AggregateError::Leaf {
                source: LeafError::InputDigest,
                ..
            })
        ),
        "{error}"
    );
}

#[test]
fn proofs_and_keys_round_trip_through_bytes_and_malformed_bytes_are_typed_errors() {
    let (run, proved) = fibonacci_run();
    let proof = aggregate_run(proved.bundles.clone()).expect("honest");
    let bytes = proof.to_bytes();
    verify_bytes(vk(), &run.input, &bytes).expect("verifies");
    for length in [0, 5, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(verify_bytes(vk(), &run.input, &bytes[..length]).is_err());
    }
    let mut mutated = bytes.clone();
    mutated[8] ^= 1; // the version
    assert!(matches!(
        FinalProof::from_bytes(&mutated),
        Err(FormatError::UnsupportedVersion { .. })
    ));
    for position in (10..bytes.len()).step_by(bytes.len() / 97) {
        let mut mutated = bytes.clone();
        mutated[position] ^= 0x10;
        assert!(
            verify_bytes(vk(), &run.input, &mutated).is_err(),
            "byte {position}"
        );
    }
    let bundle = &proved.bundles[2];
    let decoded = SegmentProofBundle::from_bytes(&bundle.to_bytes()).expect("bundle");
    assert_eq!(decoded.to_bytes(), bundle.to_bytes());
    assert!(matches!(
        SegmentProofBundle::from_bytes(&bytes),
        Err(FormatError::BadMagic { .. })
    ));
    // A worker's partition: several bundles in one message, each vetted on its own.
    let batch = bundles_to_bytes(&proved.bundles);
    let decoded = bundles_from_bytes(&batch).expect("batch");
    assert_eq!(decoded.len(), 3);
    for bundle in &decoded {
        verify_segment_proof(vk(), &run.input, proved.challenge, 3, bundle).expect("vetted");
    }
    assert!(bundles_from_bytes(&batch[..batch.len() - 1]).is_err());
    let key = VerifyingKey::from_bytes(&vk().to_bytes()).expect("key");
    assert_eq!(key.digest(), vk().digest());
    assert!(VerifyingKey::from_bytes(&vk().to_bytes()[..20]).is_err());
    // Another program's key is refused by verify.
    let (_, sha_vk) = keys("sha256");
    assert!(verify(sha_vk, &run.input, &proof).is_err());
    let _ = elf("fibonacci");
}
