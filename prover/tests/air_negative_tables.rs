//! Negative tests of the ALU, syscall and io tables, the public values, the boundary table
//! and the final memory.

mod air_common;

use std::sync::OnceLock;

use air_common::{
    Run, assert_constraint, assert_sent_unmatched, get, record_run, set, sha256_input,
    table_row_with, update,
};
use p3_field::PrimeCharacteristicRing;
use p3_field::PrimeField32;
use zisk_prover::air::TableKind::{Bitwise, Boundary, Div, Io, Mul, Range16, Syscall};
use zisk_prover::air::bus::{
    BYTE_AND_BUS, GLOBAL_MEMORY_BUS, IO_BUS, MEMORY_BUS, MemorySpace, RANGE16_BUS,
};
use zisk_prover::air::layout::{bitwise, boundary, div, io, mul, syscall};
use zisk_prover::air::{BoundaryError, CheckError, Val, check_final_memory, check_run, public};

fn rv32im() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| record_run("rv32im", &[], 16))
}

fn sha256() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| record_run("sha256", &sha256_input(100), 20))
}

#[test]
fn bitwise_and_byte_not_in_the_byte_table_unbalances_byte_and() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Bitwise, bitwise::AND);
    update(&mut witness, Bitwise, row, bitwise::N, |v| v ^ 1);
    let (b, c, n) = (
        get(&witness, Bitwise, row, bitwise::B),
        get(&witness, Bitwise, row, bitwise::C),
        get(&witness, Bitwise, row, bitwise::N),
    );
    let error = run.check_tampered(0, &witness);
    assert!(error.constraint_names().is_empty(), "{error}");
    assert_sent_unmatched(&error, BYTE_AND_BUS, |m| m == [b, c, n]);
}

#[test]
fn mul_with_a_wrong_product_byte_fails_the_product() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Mul, mul::MUL);
    update(&mut witness, Mul, row, mul::W, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "mul: product");
}

#[test]
fn mulh_without_sign_extension_fails() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let height = witness.trace(Mul).values.len() / mul::WIDTH;
    let row = (0..height)
        .find(|&r| get(&witness, Mul, r, mul::MULH) == 1 && get(&witness, Mul, r, mul::MX) == 1)
        .expect("a MULH of a negative number");
    set(&mut witness, Mul, row, mul::XN, 0);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "mul: x is signed for mulh, mulhsu, sra",
    );
}

#[test]
fn shift_by_an_amount_other_than_c_fails() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Mul, mul::SLL);
    update(&mut witness, Mul, row, mul::S, |v| v ^ 1);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "mul: shift amount is c mod 32 (left) or -c mod 32 (right)",
    );
}

#[test]
fn right_shift_result_from_the_wrong_word_fails() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let height = witness.trace(Mul).values.len() / mul::WIDTH;
    let row = (0..height)
        .find(|&r| get(&witness, Mul, r, mul::SRL) == 1 && get(&witness, Mul, r, mul::SZ) == 0)
        .expect("an SRL by a non-zero amount");
    set(&mut witness, Mul, row, mul::SZ, 1);
    let names = run.check_tampered(0, &witness).constraint_names();
    assert!(names.contains(&"mul: sz implies a zero shift"), "{names:?}");
}

#[test]
fn division_by_zero_with_a_wrong_quotient_fails() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Div, div::CZ);
    set(&mut witness, Div, row, div::X, 0);
    assert_constraint(&run.check_tampered(0, &witness), "div: x / 0 = 2^32 - 1");
}

#[test]
fn signed_overflow_without_its_flag_fails_the_product() {
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Div, div::OVF);
    set(&mut witness, Div, row, div::OVF, 0);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "div: quotient * divisor + remainder = dividend",
    );
}

/// The carries of the byte equations of `x * y + z` on zero-extended values.
fn unsigned_carries(x: u32, y: u32, z: u32) -> [u64; 8] {
    let bytes = |v: u32| -> [u64; 8] {
        core::array::from_fn(|i| {
            if i < 4 {
                u64::from(v >> (8 * i) & 0xff)
            } else {
                0
            }
        })
    };
    let (xb, yb, zb) = (bytes(x), bytes(y), bytes(z));
    let mut carries = [0; 8];
    let mut carry = 0;
    for n in 0..8 {
        let sum: u64 = (0..=n).map(|i| xb[i] * yb[n - i]).sum::<u64>() + zb[n] + carry;
        carry = sum >> 8;
        carries[n] = carry;
    }
    carries
}

#[test]
fn divu_with_a_remainder_not_below_the_divisor_fails() {
    // (q - 1) * c + (r + c) = b still holds; only the remainder bound rejects it.
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let height = witness.trace(Div).values.len() / div::WIDTH;
    let word = |w: &zisk_prover::air::SegmentWitness, r: usize, column: usize| -> u32 {
        (0..4).map(|i| get(w, Div, r, column + i) << (8 * i)).sum()
    };
    let row = (0..height)
        .find(|&r| {
            get(&witness, Div, r, div::DIVU) == 1
                && word(&witness, r, div::X) >= 1
                && (2..1 << 15).contains(&word(&witness, r, div::Y))
        })
        .expect("a DIVU with a non-zero quotient");
    let (q, c, r) = (
        word(&witness, row, div::X),
        word(&witness, row, div::Y),
        word(&witness, row, div::Z),
    );
    let (q, r) = (q - 1, r + c);
    for i in 0..4 {
        set(&mut witness, Div, row, div::X + i, q >> (8 * i) & 0xff);
        set(&mut witness, Div, row, div::Z + i, r >> (8 * i) & 0xff);
    }
    for (i, carry) in unsigned_carries(q, c, r).into_iter().enumerate() {
        set(&mut witness, Div, row, div::K + i, carry as u32);
    }
    set(&mut witness, Div, row, div::RABS, r & 0xffff);
    set(&mut witness, Div, row, div::RABS + 1, r >> 16);
    let names = run.check_tampered(0, &witness).constraint_names();
    assert_eq!(names, ["div: |remainder| < |divisor|"]);
}

#[test]
fn commit_of_a_byte_other_than_memory_fails() {
    let run = sha256();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Io, io::STREAM);
    let lane = (0..4)
        .find(|&j| get(&witness, Io, row, io::ST + j) == 1)
        .expect("a start lane");
    update(&mut witness, Io, row, io::NB + lane, |v| v ^ 1);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "io: commits change nothing",
    );
}

#[test]
fn wrong_public_output_byte_unbalances_only_the_io_bus() {
    let run = sha256();
    let mut outputs = run.outputs.clone();
    outputs[5] ^= 1;
    let error = run.check_tampered_io(0, &run.witnesses[0], &run.input, &outputs);
    assert!(error.constraint_names().is_empty(), "{error}");
    assert_eq!(error.bus_names(), [IO_BUS]);
}

#[test]
fn wrong_public_input_byte_unbalances_only_the_io_bus() {
    let run = sha256();
    let mut input = run.input.clone();
    input[17] ^= 0x80;
    let error = run.check_tampered_io(0, &run.witnesses[0], &input, &run.outputs);
    assert_eq!(error.bus_names(), [IO_BUS]);
}

#[test]
fn short_read_of_fewer_bytes_than_left_fails() {
    let run = sha256();
    let mut witness = run.witnesses[0].clone();
    let row = table_row_with(&witness, Syscall, syscall::READ);
    update(&mut witness, Syscall, row, syscall::COUNT, |v| v - 1);
    assert_eq!(
        get(&witness, Syscall, row, syscall::SHORT),
        1,
        "the 100-byte input runs short"
    );
    assert_constraint(
        &run.check_tampered(0, &witness),
        "syscall: a short read takes the rest of the input",
    );
}

fn with_public(run: &Run, index: usize, value: Val) -> CheckError {
    let mut witness = run.witnesses[0].clone();
    witness.public_values[index] = value;
    run.check_tampered(0, &witness)
}

#[test]
fn wrong_public_values_fail_their_boundary_constraints() {
    let run = sha256();
    let publics = run.witnesses[0].public_values.clone();
    let plus = |index: usize, delta: u32| publics[index] + Val::from_u32(delta);
    for (index, value, name) in [
        (
            public::START_PC,
            plus(public::START_PC, 4),
            "cpu: the first pc is START_PC",
        ),
        (
            public::END_PC,
            plus(public::END_PC, 4),
            "cpu: the last real row ends at END_PC",
        ),
        (
            public::CYCLE_COUNT,
            plus(public::CYCLE_COUNT, 1),
            "cpu: the last real row is cycle CYCLE_COUNT - 1",
        ),
        (
            public::HALTED,
            Val::ZERO,
            "cpu: HALTED is whether the last real row halts",
        ),
        (
            public::EXIT_CODE_LO,
            Val::ONE,
            "syscall: the exit code is the halt's a0",
        ),
        (
            public::OUTPUT_END,
            plus(public::OUTPUT_END, 1),
            "syscall: output ends at OUTPUT_END",
        ),
        (
            public::INPUT_START,
            plus(public::INPUT_START, 1),
            "syscall: input starts at INPUT_START",
        ),
    ] {
        assert_constraint(&with_public(run, index, value), name);
    }
}

#[test]
fn boundary_value_other_than_the_run_left_unbalances_memory() {
    let run = sha256();
    let mut witness = run.witnesses[0].clone();
    let last = witness.boundary.len() - 1;
    update(&mut witness, Boundary, last, boundary::END, |v| v ^ 1);
    // The segment's own chain no longer closes, and the value handed on is not the run's.
    assert_eq!(
        run.check_tampered(0, &witness).bus_names(),
        [GLOBAL_MEMORY_BUS, MEMORY_BUS]
    );
}

#[test]
fn boundary_start_value_from_no_writer_unbalances_global_memory_only() {
    // A register opened with another value and never accessed passes it through unchanged:
    // the segment's own buses balance, the cross-segment bus does not.
    let run = rv32im();
    let mut witness = run.witnesses[0].clone();
    let row = witness
        .boundary
        .iter()
        .position(|w| w.space == MemorySpace::Register && w.last_timestamp == 0)
        .expect("a register the segment does not touch");
    update(&mut witness, Boundary, row, boundary::START, |v| v ^ 1);
    update(&mut witness, Boundary, row, boundary::END, |v| v ^ 1);
    assert_eq!(
        run.check_tampered(0, &witness).bus_names(),
        [GLOBAL_MEMORY_BUS]
    );
}

#[test]
fn boundary_previous_tag_from_the_same_or_a_later_segment_fails_the_range_check() {
    let run = sha256();
    let mut witness = run.witnesses[0].clone();
    // Segment 0's tag is 1: claiming the start value came from segment 0 itself.
    set(&mut witness, Boundary, 0, boundary::PREV_TAG, 1);
    let error = run.check_tampered(0, &witness);
    assert!(error.bus_names().contains(&RANGE16_BUS), "{error}");
    assert_sent_unmatched(&error, RANGE16_BUS, |m| {
        m == [Val::NEG_ONE.as_canonical_u32()]
    });
}

#[test]
fn a_start_value_claimed_from_the_initial_image_unbalances_the_run_only() {
    // Segment 2 of a run claims that a register it never touches still holds its initial
    // value (tag 0) although segment 1 left it (tag 2). The range check is kept consistent,
    // so the segment alone checks; the run's cross-segment bus does not balance.
    let run = record_run("fibonacci", &30u32.to_le_bytes(), 7);
    assert_eq!(run.witnesses.len(), 3);
    let mut witnesses = run.witnesses.clone();
    let witness = &mut witnesses[2];
    let row = witness
        .boundary
        .iter()
        .position(|w| {
            w.space == MemorySpace::Register && w.last_timestamp == 0 && w.value_at_start == 0
        })
        .expect("an untouched register holding 0");
    assert_eq!(get(witness, Boundary, row, boundary::PREV_TAG), 2);
    set(witness, Boundary, row, boundary::PREV_TAG, 0);
    update(witness, Range16, 0, 0, |n| n - 1);
    update(witness, Range16, 2, 0, |n| n + 1);
    let error = check_run(
        &run.tables,
        &witnesses,
        &run.final_memory,
        &run.input,
        &run.outputs,
    )
    .expect_err("unbalanced");
    assert!(error.constraint_names().is_empty(), "{error}");
    assert_eq!(error.bus_names(), [GLOBAL_MEMORY_BUS]);
    check_run(
        &run.tables,
        &run.witnesses,
        &run.final_memory,
        &run.input,
        &run.outputs,
    )
    .expect("the honest run checks");
}

#[test]
fn a_wrong_segment_index_hands_values_on_under_the_wrong_tag() {
    let run = sha256();
    let mut witness = run.witnesses[0].clone();
    witness.public_values[public::SEGMENT_INDEX] = Val::ONE;
    assert!(
        run.check_tampered(0, &witness)
            .bus_names()
            .contains(&GLOBAL_MEMORY_BUS)
    );
}

#[test]
fn final_memory_with_x0_a_changed_text_word_or_a_foreign_tag_is_rejected() {
    let run = sha256();
    let count = run.witnesses.len() as u32;
    check_final_memory(&run.tables, &run.final_memory, count).expect("the honest list");
    let mut words = run.final_memory.clone();
    let x1 = words
        .iter()
        .position(|w| w.space == MemorySpace::Register)
        .expect("registers");
    words[x1].address = 0;
    assert!(matches!(
        check_final_memory(&run.tables, &words, count),
        Err(BoundaryError::Registers { .. } | BoundaryError::Unsorted { .. })
    ));
    let mut words = run.final_memory.clone();
    if let Some(index) = words.iter().position(|w| w.space == MemorySpace::Text) {
        words[index].value ^= 1;
        assert!(matches!(
            check_final_memory(&run.tables, &words, count),
            Err(BoundaryError::TextChanged { .. })
        ));
    }
    let mut words = run.final_memory.clone();
    words[0].tag = count + 1;
    assert!(matches!(
        check_final_memory(&run.tables, &words, count),
        Err(BoundaryError::Tag { .. })
    ));
    let mut words = run.final_memory.clone();
    words.swap(0, 1);
    assert!(matches!(
        check_final_memory(&run.tables, &words, count),
        Err(BoundaryError::Unsorted { .. })
    ));
}
