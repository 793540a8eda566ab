//! Negative tests of the cpu table: one tampered cell (or a consistent handful) of an honest
//! rv32im trace, and the check fails through the intended constraint or bus.

mod air_common;

use std::sync::OnceLock;

use air_common::{
    Run, assert_bus, assert_constraint, assert_sent_unmatched, get, record_run, set, set_signed,
    update,
};
use zisk_prover::air::TableKind::Cpu;
use zisk_prover::air::bus::{MEMORY_BUS, RANGE16_BUS, ROM_BUS, SYSCALL_BUS};
use zisk_prover::air::layout::{cpu, rom};

/// rv32im as one segment: every instruction, many edge cases.
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| record_run("rv32im", &[], 16))
}

const OP: u32 = 0x33;
const OP_IMM: u32 = 0x13;
const LOAD: u32 = 0x03;
const STORE: u32 = 0x23;
const BRANCH: u32 = 0x63;
const JAL: u32 = 0x6f;
const SYSTEM: u32 = 0x73;

#[test]
fn add_with_a_wrong_result_fails_the_adder() {
    let run = run();
    let row = run.row_where(0, |_, f| {
        f.opcode == OP && f.funct3 == 0 && f.funct7 == 0 && f.rd != 0
    });
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::A, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: add");
}

#[test]
fn sub_with_a_wrong_result_fails_the_adder() {
    let run = run();
    let row = run.row_where(0, |_, f| {
        f.opcode == OP && f.funct3 == 0 && f.funct7 == 0x20 && f.rd != 0
    });
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::A + 1, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: sub");
}

#[test]
fn slt_with_a_flipped_result_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| {
        f.opcode == OP && f.funct3 == 2 && f.funct7 == 0 && f.rd != 0
    });
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::A, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: slt result");
}

#[test]
fn signed_compare_with_a_wrong_sign_bit_fails_the_range_check() {
    // SLT with b's sign flipped: the adder still balances with a different h, but the sign
    // check (2 b_hi - 2^16 b_msb in range) does not.
    let run = run();
    let row = run.row_where(0, |s, f| {
        f.opcode == OP && f.funct3 == 2 && f.funct7 == 0 && s.rs1_value >> 31 == 1
    });
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::B_MSB, 0);
    let error = run.check_tampered(0, &witness);
    // Either the adder or, if it happens to balance, the range check must catch it.
    if error.constraint_names().is_empty() {
        assert_bus(&error, RANGE16_BUS);
    } else {
        assert_constraint(&error, "cpu: signed compare");
    }
}

#[test]
fn xor_result_not_from_the_bitwise_table_unbalances_the_alu_bus() {
    let run = run();
    let row = run.row_where(0, |_, f| {
        f.opcode == OP && f.funct3 == 4 && f.funct7 == 0 && f.rd != 0
    });
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::A, |v| v ^ 1);
    let a = get(&witness, Cpu, row, cpu::A);
    assert_sent_unmatched(
        &run.check_tampered(0, &witness),
        zisk_prover::air::bus::ALU_BUS,
        |m| m[1] == a,
    );
}

#[test]
fn branch_with_a_flipped_outcome_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == BRANCH);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::TAKEN, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: branch taken");
}

#[test]
fn beq_claiming_equality_of_different_values_fails() {
    let run = run();
    let row = run.row_where(0, |s, f| {
        f.opcode == BRANCH && f.funct3 == 0 && s.rs1_value != s.rs2_value
    });
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::EQ, 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: eq implies b == c");
}

#[test]
fn taken_branch_to_a_wrong_target_fails_the_pc_update() {
    let run = run();
    let row = run.row_where(0, |s, f| f.opcode == BRANCH && s.next_pc != s.pc + 4);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::NEXT_PC, |v| v + 8);
    update(&mut witness, Cpu, row + 1, cpu::PC, |v| v + 8);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: next pc");
}

#[test]
fn branch_target_not_in_the_rom_unbalances_the_rom_bus() {
    // Change the target itself (the ROM immediate) and follow it consistently.
    let run = run();
    let row = run.row_where(0, |s, f| f.opcode == BRANCH && s.next_pc != s.pc + 4);
    let mut witness = run.witnesses[0].clone();
    let imm = cpu::rom_column(rom::IMM_LO);
    update(&mut witness, Cpu, row, imm, |v| v + 8);
    update(&mut witness, Cpu, row, cpu::NEXT_PC, |v| v + 8);
    let pc = get(&witness, Cpu, row, cpu::PC);
    assert_sent_unmatched(&run.check_tampered(0, &witness), ROM_BUS, |m| m[0] == pc);
}

#[test]
fn skipping_an_instruction_fails_the_pc_update() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == OP && f.funct3 == 0 && f.funct7 == 0);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::NEXT_PC, |v| v + 4);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: next pc");
}

#[test]
fn jal_with_a_wrong_link_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == JAL && f.rd != 0);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::A, |v| v + 4);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: jal/jalr link");
}

#[test]
fn instruction_not_in_the_rom_unbalances_the_rom_bus() {
    // An ADDI whose immediate, operand and result are all changed consistently: every cpu
    // constraint holds, but no ROM row has that immediate at that pc.
    let run = run();
    let row = run.row_where(0, |s, f| {
        f.opcode == OP_IMM
            && f.funct3 == 0
            && f.rd != 0
            && s.rd_value & 0xffff < 0xfff0
            && (s.instruction >> 20) & 0xff < 0xf0
    });
    let mut witness = run.witnesses[0].clone();
    for column in [cpu::rom_column(rom::IMM_LO), cpu::C, cpu::A] {
        update(&mut witness, Cpu, row, column, |v| v + 1);
    }
    let error = run.check_tampered(0, &witness);
    assert!(error.constraint_names().is_empty(), "{error}");
    let pc = get(&witness, Cpu, row, cpu::PC);
    assert_sent_unmatched(&error, ROM_BUS, |m| m[0] == pc);
}

#[test]
fn writing_x0_unbalances_the_rom_bus() {
    // A JAL with rd = x0 whose row claims to write rd: the ROM says it writes nothing.
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == JAL && f.rd == 0);
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::rom_column(rom::RD_WRITE), 1);
    let pc = get(&witness, Cpu, row, cpu::PC);
    assert_sent_unmatched(&run.check_tampered(0, &witness), ROM_BUS, |m| m[0] == pc);
}

#[test]
fn reading_x0_as_nonzero_fails() {
    // `li rd, imm` is `addi rd, x0, imm`: b must be 0.
    let run = run();
    let row = run.row_where(0, |s, f| {
        f.opcode == OP_IMM
            && f.funct3 == 0
            && f.rs1 == 0
            && f.rd != 0
            && s.rd_value & 0xffff < 0xfff0
    });
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::B, 5);
    update(&mut witness, Cpu, row, cpu::A, |v| v + 5);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "cpu: b is 0 unless rs1 is read",
    );
}

#[test]
fn rd_limb_out_of_range_unbalances_range16() {
    // a_lo + 2^16 with a_hi - 1 and the low carry dropped keeps the adder balanced: only the
    // 16-bit range check of rd's limbs rejects it.
    let run = run();
    let mut witness = run.witnesses[0].clone();
    let row = run.row_where(0, |_, f| {
        f.opcode == OP && f.funct3 == 0 && f.funct7 == 0 && f.rd != 0
    });
    let row = (row..)
        .find(|&r| {
            let f = air_common::fields(run.segments[0].steps[r].instruction);
            f.opcode == OP
                && f.funct3 == 0
                && f.funct7 == 0
                && f.rd != 0
                && get(&witness, Cpu, r, cpu::CARRY) == 1
                && get(&witness, Cpu, r, cpu::A + 1) > 0
        })
        .expect("an ADD with a low carry");
    let a_lo = i64::from(get(&witness, Cpu, row, cpu::A));
    set_signed(&mut witness, Cpu, row, cpu::A, a_lo + (1 << 16));
    update(&mut witness, Cpu, row, cpu::A + 1, |v| v - 1);
    set(&mut witness, Cpu, row, cpu::CARRY, 0);
    let error = run.check_tampered(0, &witness);
    assert!(error.constraint_names().is_empty(), "{error}");
    let a_lo = (a_lo + (1 << 16)) as u32;
    assert_sent_unmatched(&error, RANGE16_BUS, |m| m[0] == a_lo);
}

#[test]
fn load_returning_a_stale_value_unbalances_memory() {
    // An LW whose word (and so its result) is changed consistently across the row.
    let run = run();
    let row = run.row_where(0, |s, f| {
        f.opcode == LOAD && f.funct3 == 2 && f.rd != 0 && s.rd_value & 0xff < 0xff
    });
    let mut witness = run.witnesses[0].clone();
    for column in [cpu::MEM, cpu::NEW, cpu::A, cpu::HB] {
        update(&mut witness, Cpu, row, column, |v| v + 1);
    }
    update(&mut witness, Cpu, row, cpu::HALF, |v| v + 1);
    let low_byte = get(&witness, Cpu, row, cpu::HB);
    set(&mut witness, Cpu, row, cpu::SB, low_byte);
    let error = run.check_tampered(0, &witness);
    assert!(error.constraint_names().is_empty(), "{error}");
    assert_bus(&error, MEMORY_BUS);
}

#[test]
fn load_claiming_an_earlier_timestamp_unbalances_memory() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == LOAD && f.funct3 == 2);
    let mut witness = run.witnesses[0].clone();
    let delta = get(&witness, Cpu, row, cpu::DM);
    set(
        &mut witness,
        Cpu,
        row,
        cpu::DM,
        if delta > 0 { delta - 1 } else { delta + 1 },
    );
    assert_bus(&run.check_tampered(0, &witness), MEMORY_BUS);
}

#[test]
fn misaligned_word_load_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == LOAD && f.funct3 == 2);
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::OFF0, 1);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "cpu: word access is aligned",
    );
}

#[test]
fn lb_with_a_wrong_sign_extension_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == LOAD && f.funct3 == 0 && f.rd != 0);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::LMSB, |v| v ^ 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: lb result");
}

#[test]
fn sb_writing_a_different_byte_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == STORE && f.funct3 == 0);
    let mut witness = run.witnesses[0].clone();
    update(&mut witness, Cpu, row, cpu::NEW, |v| v ^ 0x0101);
    let error = run.check_tampered(0, &witness);
    let names = error.constraint_names();
    assert!(
        names.contains(&"cpu: sb writes c's low byte")
            || names.contains(&"cpu: sh/sb keep the other half"),
        "{names:?}"
    );
}

#[test]
fn store_into_the_text_space_fails() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == STORE && f.funct3 == 2);
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::RO, 1);
    assert_constraint(
        &run.check_tampered(0, &witness),
        "cpu: stores write RAM, not the text",
    );
}

#[test]
fn ecall_with_an_unknown_syscall_number_unbalances_the_syscall_bus() {
    let run = run();
    let row = run.row_where(0, |_, f| f.opcode == SYSTEM);
    let mut witness = run.witnesses[0].clone();
    set(&mut witness, Cpu, row, cpu::B, 3);
    assert_sent_unmatched(&run.check_tampered(0, &witness), SYSCALL_BUS, |m| m[2] == 3);
}

#[test]
fn a_second_instruction_after_the_halt_fails() {
    let run = run();
    let last = run.segments[0].steps.len() - 1;
    let mut witness = run.witnesses[0].clone();
    // Claim the halt one row earlier: that row is not an ECALL.
    set(&mut witness, Cpu, last - 1, cpu::IS_HALT, 1);
    assert_constraint(&run.check_tampered(0, &witness), "cpu: only an ecall halts");
}
