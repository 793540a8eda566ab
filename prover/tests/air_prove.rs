//! Every guest proves and verifies as one segment through the pipeline; tampered traces
//! proved without checking, and wrong statements, are rejected by the aggregator and by
//! the verifier.

mod air_common;
mod pipeline_common;

use air_common::{Run, get, record_run, set, sha256_input, sort_input};
use pipeline_common::{aggregate, keys, prove_witnesses};
use zisk_prover::air::SegmentWitness;
use zisk_prover::air::TableKind::Cpu;
use zisk_prover::air::layout::cpu;
use zisk_prover::pipeline::{AggregateError, Checks, FinalProof, LeafError, VerifyError, verify};

fn one_segment(name: &str, input: &[u8]) -> Run {
    let run = record_run(name, input, 20);
    assert_eq!(run.witnesses.len(), 1);
    run
}

/// Proves `witness` (checked or not) as the run's one segment and aggregates it.
fn prove_and_aggregate(
    name: &str,
    run: &Run,
    witness: SegmentWitness,
    checks: Checks,
) -> Result<FinalProof, AggregateError> {
    let (pk, vk) = keys(name);
    let proved = prove_witnesses(pk, run, vec![witness], checks, None).expect("a proof");
    aggregate(vk, &run.input, proved.challenge, proved.bundles, 1)
}

#[test]
fn every_guest_proves_and_verifies_as_one_segment() {
    for (name, input) in [
        ("fibonacci", 20u32.to_le_bytes().to_vec()),
        ("sha256", sha256_input(64)),
        ("sort", sort_input(16)),
        ("rv32im", Vec::new()),
    ] {
        let run = one_segment(name, &input);
        let proof = prove_and_aggregate(name, &run, run.witnesses[0].clone(), Checks::Constraints)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let outputs = verify(&keys(name).1, &run.input, &proof)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(outputs.outputs, run.outputs, "{name}");
        assert_eq!(outputs.exit_code, 0);
    }
}

#[test]
fn a_tampered_add_result_proved_unchecked_is_rejected() {
    let run = one_segment("fibonacci", &20u32.to_le_bytes());
    let row = run.row_where(0, |_, f| {
        f.opcode == 0x33 && f.funct3 == 0 && f.funct7 == 0 && f.rd != 0
    });
    let mut witness = run.witnesses[0].clone();
    let a = get(&witness, Cpu, row, cpu::A);
    set(&mut witness, Cpu, row, cpu::A, a ^ 1);
    let error =
        prove_and_aggregate("fibonacci", &run, witness, Checks::None).expect_err("rejected");
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
}

#[test]
fn a_wrong_public_output_is_rejected() {
    let run = one_segment("fibonacci", &20u32.to_le_bytes());
    let proof = prove_and_aggregate("fibonacci", &run, run.witnesses[0].clone(), Checks::None)
        .expect("honest");
    let mut leaves = proof.segments().to_vec();
    leaves[0].run_end.as_mut().expect("last").outputs[4] ^= 1;
    // The output is bound into the global challenge: the verifier's challenge differs from
    // the one the segment was proved under.
    let error = verify(
        &keys("fibonacci").1,
        &run.input,
        &FinalProof::from_segments(leaves),
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
}

#[test]
fn a_stale_load_proved_unchecked_is_rejected_by_the_bus_sum() {
    let run = one_segment("sort", &sort_input(8));
    let row = run.row_where(0, |s, f| {
        f.opcode == 0x03 && f.funct3 == 2 && f.rd != 0 && s.rd_value & 0xff < 0xff
    });
    let mut witness = run.witnesses[0].clone();
    for column in [cpu::MEM, cpu::NEW, cpu::A, cpu::HB, cpu::HALF] {
        let value = get(&witness, Cpu, row, column);
        set(&mut witness, Cpu, row, column, value + 1);
    }
    let low_byte = get(&witness, Cpu, row, cpu::HB);
    set(&mut witness, Cpu, row, cpu::SB, low_byte);
    // The segment's own memory bus no longer balances; it is proof-scoped, so nothing can
    // compensate it and the run's bus sum is not zero.
    let error = prove_and_aggregate("sort", &run, witness, Checks::None).expect_err("rejected");
    assert!(matches!(error, AggregateError::Unbalanced), "{error}");
}
