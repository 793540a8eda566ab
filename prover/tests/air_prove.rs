//! Every guest proves and verifies as one segment through the segment STARK; tampered
//! traces proved without checking, and wrong statements, are rejected by the verifier.

mod air_common;

use air_common::{Run, get, record_run, set, sha256_input, sort_input};
use zisk_prover::air::TableKind::Cpu;
use zisk_prover::air::layout::cpu;
use zisk_prover::air::{
    RunStatement, SegmentWitness, VerifySegmentError, prove_segment, setup_program, verify_segment,
};
use zisk_prover::stark::ParamSet;

fn prove_and_verify(
    run: &Run,
    witness: &SegmentWitness,
    checked: bool,
    output: &[u8],
) -> Result<(), VerifySegmentError> {
    let (pk, vk) = setup_program(&run.tables, ParamSet::Test).expect("setup");
    let proof = prove_segment(&pk, witness, &run.input, &run.outputs, checked).expect("proof");
    let statement = RunStatement {
        publics: &witness.publics,
        boundary: &witness.boundary,
        input: &run.input,
        output,
    };
    verify_segment(&vk, &run.tables, &proof, &statement, ParamSet::Test)
}

fn one_segment(name: &str, input: &[u8]) -> Run {
    let run = record_run(name, input, 20);
    assert_eq!(run.witnesses.len(), 1);
    run
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
        prove_and_verify(&run, &run.witnesses[0], true, &run.outputs)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
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
    let error = prove_and_verify(&run, &witness, false, &run.outputs).expect_err("rejected");
    assert!(matches!(error, VerifySegmentError::Proof(_)), "{error}");
}

#[test]
fn a_wrong_public_output_is_rejected() {
    let run = one_segment("fibonacci", &20u32.to_le_bytes());
    let mut output = run.outputs.clone();
    output[4] ^= 1;
    // The output is bound into the global challenge, so the proof's openings no longer match
    // (and were they to, the io bus would not balance).
    let error = prove_and_verify(&run, &run.witnesses[0], true, &output).expect_err("rejected");
    assert!(
        matches!(
            error,
            VerifySegmentError::Proof(_) | VerifySegmentError::Unbalanced
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
    let error = prove_and_verify(&run, &witness, false, &run.outputs).expect_err("rejected");
    assert!(matches!(error, VerifySegmentError::Unbalanced), "{error}");
}
