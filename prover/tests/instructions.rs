//! Per-instruction tests on hand-assembled programs: every RV32IM instruction against a
//! reference written from the specification, with the edge cases called out.

mod common;

use common::reference::*;
use common::*;
use zisk_prover::{ExecError, FaultKind, GuestFault};

const EDGE_VALUES: [u32; 16] = [
    0,
    1,
    2,
    3,
    7,
    31,
    32,
    33,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_ffff,
    0xffff_fffe,
    0xffff_fff9,
    0x1234_5678,
    0xdead_beef,
];

fn run_rr(name: &str, a: u32, b: u32) -> u32 {
    let mut asm = Asm::new();
    asm.li(T0, a).li(T1, b).push(rr(name, T2, T0, T1)).halt();
    run_words(&asm.words, &[], &[]).expect("runs").registers()[T2 as usize]
}

#[test]
fn every_register_register_instruction_matches_the_reference_on_edge_values() {
    for name in R_NAMES {
        for a in EDGE_VALUES {
            for b in EDGE_VALUES {
                assert_eq!(
                    run_rr(name, a, b),
                    reference_rr(name, a, b),
                    "{name} {a:#x}, {b:#x}"
                );
            }
        }
    }
}

#[test]
fn division_edge_cases_follow_the_specification() {
    assert_eq!(run_rr("div", 7, 0), u32::MAX);
    assert_eq!(run_rr("divu", 7, 0), u32::MAX);
    assert_eq!(run_rr("rem", 7, 0), 7);
    assert_eq!(run_rr("remu", 7, 0), 7);
    assert_eq!(run_rr("div", 0x8000_0000, u32::MAX), 0x8000_0000);
    assert_eq!(run_rr("rem", 0x8000_0000, u32::MAX), 0);
    assert_eq!(run_rr("div", (-7i32) as u32, 2), (-3i32) as u32);
    assert_eq!(run_rr("rem", (-7i32) as u32, 2), (-1i32) as u32);
    assert_eq!(run_rr("divu", (-7i32) as u32, 2), 0x7fff_fffc);
}

#[test]
fn high_multiplications_treat_signs_per_operand() {
    assert_eq!(run_rr("mulh", u32::MAX, u32::MAX), 0); // -1 * -1 = 1
    assert_eq!(run_rr("mulhsu", u32::MAX, u32::MAX), u32::MAX); // -1 * (2^32 - 1)
    assert_eq!(run_rr("mulhu", u32::MAX, u32::MAX), 0xffff_fffe);
    assert_eq!(run_rr("mulh", 0x8000_0000, 0x8000_0000), 0x4000_0000);
    assert_eq!(run_rr("mulhsu", 0x8000_0000, 0x8000_0000), 0xc000_0000);
    assert_eq!(run_rr("mul", 0x8000_0000, 0x8000_0000), 0);
}

#[test]
fn shifts_use_only_the_low_five_bits_of_the_amount() {
    assert_eq!(run_rr("sll", 1, 33), 2);
    assert_eq!(run_rr("srl", 0x8000_0000, 32), 0x8000_0000);
    assert_eq!(run_rr("sra", 0x8000_0000, 63), u32::MAX);
    assert_eq!(run_rr("srl", 0x8000_0000, 31), 1);
}

#[test]
fn every_register_immediate_instruction_matches_the_reference() {
    for name in ["addi", "slti", "sltiu", "xori", "ori", "andi"] {
        for imm in [0, 1, -1, 5, 2047, -2048, 0x7ff, -0x800 + 1] {
            for a in EDGE_VALUES {
                let mut asm = Asm::new();
                asm.li(T0, a).push(ri(name, T2, T0, imm)).halt();
                let got = run_words(&asm.words, &[], &[]).unwrap().registers()[T2 as usize];
                assert_eq!(got, reference_ri(name, a, imm), "{name} {a:#x}, {imm}");
            }
        }
    }
    for name in ["slli", "srli", "srai"] {
        for amount in [0, 1, 4, 16, 31] {
            for a in EDGE_VALUES {
                let mut asm = Asm::new();
                asm.li(T0, a).push(ri(name, T2, T0, amount)).halt();
                let got = run_words(&asm.words, &[], &[]).unwrap().registers()[T2 as usize];
                assert_eq!(
                    got,
                    reference_ri(name, a, amount),
                    "{name} {a:#x}, {amount}"
                );
            }
        }
    }
}

#[test]
fn sltiu_compares_against_the_sign_extended_immediate_as_unsigned() {
    let mut asm = Asm::new();
    asm.li(T0, 5)
        .push(ri("sltiu", T1, T0, -1))
        .push(ri("sltiu", T2, ZERO, 1))
        .halt();
    let registers = run_words(&asm.words, &[], &[]).unwrap().registers();
    assert_eq!(registers[T1 as usize], 1, "5 < 0xffffffff");
    assert_eq!(registers[T2 as usize], 1, "seqz idiom");
}

#[test]
fn lui_and_auipc_build_upper_immediates() {
    let mut asm = Asm::new();
    asm.push(lui(T0, 0xfffff))
        .push(auipc(T1, 0))
        .push(auipc(T2, 0x80000))
        .halt();
    let registers = run_words(&asm.words, &[], &[]).unwrap().registers();
    assert_eq!(registers[T0 as usize], 0xffff_f000);
    assert_eq!(registers[T1 as usize], TEXT_START + 4);
    assert_eq!(
        registers[T2 as usize],
        (TEXT_START + 8).wrapping_add(0x8000_0000)
    );
}

#[test]
fn x0_is_hard_wired_to_zero() {
    let mut asm = Asm::new();
    asm.push(ri("addi", ZERO, ZERO, 5))
        .push(lui(ZERO, 1))
        .push(jal(ZERO, 4))
        .li(T0, DATA_START)
        .push(ri("lw", ZERO, T0, 0))
        .push(rr("add", T1, ZERO, ZERO))
        .halt();
    let machine = run_words(&asm.words, &0xdead_beefu32.to_le_bytes(), &[]).unwrap();
    assert_eq!(machine.registers()[0], 0);
    assert_eq!(machine.registers()[T1 as usize], 0);
}

#[test]
fn loads_sign_or_zero_extend() {
    let data = [0x80, 0x7f, 0xff, 0x01, 0x34, 0x12, 0x00, 0x80];
    let cases: [(&str, i32, u32); 13] = [
        ("lb", 0, 0xffff_ff80),
        ("lb", 1, 0x7f),
        ("lb", 2, 0xffff_ffff),
        ("lbu", 0, 0x80),
        ("lbu", 2, 0xff),
        ("lbu", 3, 0x01),
        ("lh", 0, 0x7f80),
        ("lh", 2, 0x01ff),
        ("lh", 6, 0xffff_8000),
        ("lhu", 6, 0x8000),
        ("lhu", 4, 0x1234),
        ("lw", 0, 0x01ff_7f80),
        ("lw", 4, 0x8000_1234),
    ];
    for (name, offset, expected) in cases {
        let mut asm = Asm::new();
        asm.li(T0, DATA_START + 8)
            .push(ri(name, T1, T0, offset - 8))
            .halt();
        let got = run_words(&asm.words, &data, &[]).unwrap().registers()[T1 as usize];
        assert_eq!(got, expected, "{name} at offset {offset}");
    }
}

#[test]
fn stores_write_only_their_bytes() {
    let mut asm = Asm::new();
    asm.li(T0, DATA_START)
        .li(T1, 0x1122_3344)
        .push(store("sw", T1, T0, 0))
        .li(T1, 0xaabb_ccdd)
        .push(store("sb", T1, T0, 1))
        .push(store("sh", T1, T0, 6))
        .push(store("sb", T1, T0, 11))
        .halt();
    let machine = run_words(&asm.words, &[], &[]).unwrap();
    assert_eq!(machine.read_word(DATA_START), Some(0x1122_dd44));
    assert_eq!(machine.read_word(DATA_START + 4), Some(0xccdd_0000));
    assert_eq!(machine.read_word(DATA_START + 8), Some(0xdd00_0000));
}

#[test]
fn branches_are_taken_exactly_when_the_condition_holds() {
    for name in ["beq", "bne", "blt", "bge", "bltu", "bgeu"] {
        for a in EDGE_VALUES {
            for b in [0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, a] {
                // t2 = 1; branch over "t2 = 0" when taken.
                let mut asm = Asm::new();
                asm.li(T0, a)
                    .li(T1, b)
                    .push(ri("addi", T2, ZERO, 1))
                    .push(branch(name, T0, T1, 8))
                    .push(ri("addi", T2, ZERO, 0))
                    .halt();
                let got = run_words(&asm.words, &[], &[]).unwrap().registers()[T2 as usize];
                assert_eq!(
                    got == 1,
                    reference_branch(name, a, b),
                    "{name} {a:#x}, {b:#x}"
                );
            }
        }
    }
}

#[test]
fn backward_branches_loop() {
    // t0 = 10; loop: t1 += 3; t0 -= 1; bne t0, zero, loop
    let mut asm = Asm::new();
    asm.li(T0, 10)
        .push(ri("addi", T1, T1, 3))
        .push(ri("addi", T0, T0, -1))
        .push(branch("bne", T0, ZERO, -8))
        .halt();
    let machine = run_words(&asm.words, &[], &[]).unwrap();
    assert_eq!(machine.registers()[T1 as usize], 30);
    assert_eq!(machine.cycle(), 2 + 3 * 10 + 3);
}

#[test]
fn jal_and_jalr_link_the_return_address_and_jalr_clears_bit_zero() {
    let mut asm = Asm::new();
    asm.push(jal(RA, 8)) // 0x10000 -> 0x10008, ra = 0x10004
        .push(EBREAK) // skipped
        .li(T0, TEXT_START + 0x19) // odd target: bit 0 is cleared -> 0x10018
        .push(ri("jalr", T1, T0, 0)) // at 0x10010, t1 = 0x10014
        .push(EBREAK) // 0x10014, skipped
        .li(T2, 0) // 0x10018
        // jalr with rd == rs1: the target uses the old value.
        .li(A1, TEXT_START + 0x2c) // 0x10020
        .push(ri("jalr", A1, A1, 0)) // 0x10028, a1 = 0x1002c
        .halt(); // 0x1002c
    let registers = run_words(&asm.words, &[], &[]).unwrap().registers();
    assert_eq!(registers[RA as usize], TEXT_START + 4);
    assert_eq!(registers[T1 as usize], TEXT_START + 0x14);
    assert_eq!(registers[A1 as usize], TEXT_START + 0x2c);
}

#[test]
fn fence_is_a_no_op() {
    let mut asm = Asm::new();
    asm.li(T0, 9)
        .push(FENCE)
        .push(0x8330_000f)
        .push(0x0100_000f)
        .halt(); // fence, fence.tso, pause
    let machine = run_words(&asm.words, &[], &[]).unwrap();
    assert_eq!(machine.registers()[T0 as usize], 9);
    assert_eq!(machine.cycle(), 2 + 3 + 3);
}

fn fault_of(words: &[u32], data: &[u8], input: &[u8]) -> GuestFault {
    match run_words(words, data, input) {
        Err(ExecError::Fault(fault)) => fault,
        Err(other) => panic!("expected a guest fault, got {other}"),
        Ok(machine) => panic!(
            "expected a guest fault, halted at cycle {}",
            machine.cycle()
        ),
    }
}

#[test]
fn non_rv32im_encodings_fault_as_illegal_instructions_with_pc_and_word() {
    for word in [
        0x0000_0000, // defined illegal
        0xffff_ffff,
        0x3000_2573,             // csrrs a0, mstatus, x0
        0xc000_2573,             // rdcycle
        0x1005_252f,             // lr.w
        0x0000_4501,             // c.li (compressed)
        0x0000_100f,             // fence.i
        0x0200_1293,             // slli with shamt bit 5
        0x0000_3283,             // ld
        0x0000_3023,             // sd
        0x0020_0073,             // uret-like SYSTEM encoding
        0x3020_0073,             // mret
        0x1050_0073,             // wfi
        0x0000_0053,             // fadd.s
        0x4000_0033 | (1 << 12), // sub-style funct7 on sll
    ] {
        let mut asm = Asm::new();
        asm.push(NOP).push(word).halt();
        let fault = fault_of(&asm.words, &[], &[]);
        assert_eq!(fault.kind, FaultKind::IllegalInstruction, "{word:#010x}");
        assert_eq!(
            (fault.pc, fault.instruction, fault.cycle),
            (TEXT_START + 4, word, 1)
        );
    }
}

#[test]
fn ebreak_faults() {
    let fault = fault_of(&[EBREAK], &[], &[]);
    assert_eq!(fault.kind, FaultKind::Breakpoint);
    assert_eq!(fault.pc, TEXT_START);
}

#[test]
fn misaligned_loads_and_stores_fault() {
    for (word, address) in [
        (ri("lw", T1, T0, 1), DATA_START + 1),
        (ri("lw", T1, T0, 2), DATA_START + 2),
        (ri("lh", T1, T0, 3), DATA_START + 3),
        (ri("lhu", T1, T0, 1), DATA_START + 1),
        (store("sw", T1, T0, 2), DATA_START + 2),
        (store("sh", T1, T0, 1), DATA_START + 1),
    ] {
        let mut asm = Asm::new();
        asm.li(T0, DATA_START).push(word).halt();
        let fault = fault_of(&asm.words, &[], &[]);
        assert_eq!(fault.kind, FaultKind::MisalignedAccess { address });
        assert_eq!((fault.pc, fault.instruction), (TEXT_START + 8, word));
    }
}

#[test]
fn accesses_outside_guest_memory_fault() {
    for address in [0, 4, 0xfffc, TEST_MEMORY_BYTES, 0xffff_fffc] {
        for word in [
            ri("lw", T1, T0, 0),
            store("sw", T1, T0, 0),
            ri("lb", T1, T0, 0),
        ] {
            let mut asm = Asm::new();
            asm.li(T0, address).push(word).halt();
            let fault = fault_of(&asm.words, &[], &[]);
            assert_eq!(
                fault.kind,
                FaultKind::UnmappedAccess { address },
                "{address:#x}"
            );
        }
    }
}

#[test]
fn the_last_mapped_word_is_usable() {
    let mut asm = Asm::new();
    asm.li(T0, TEST_MEMORY_BYTES - 4)
        .li(T1, 77)
        .push(store("sw", T1, T0, 0))
        .push(ri("lw", T2, T0, 0))
        .halt();
    assert_eq!(
        run_words(&asm.words, &[], &[]).unwrap().registers()[T2 as usize],
        77
    );
}

#[test]
fn stores_into_the_text_fault_but_loads_from_it_work() {
    let mut asm = Asm::new();
    asm.li(T0, TEXT_START)
        .push(ri("lw", T1, T0, 0))
        .push(store("sb", T1, T0, 3))
        .halt();
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(
        fault.kind,
        FaultKind::WriteToText {
            address: TEXT_START + 3
        }
    );
}

#[test]
fn jumps_to_misaligned_targets_fault_at_the_jump() {
    let mut asm = Asm::new();
    asm.push(jal(RA, 6)).halt();
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(
        fault.kind,
        FaultKind::MisalignedJump {
            target: TEXT_START + 6
        }
    );
    assert_eq!(fault.pc, TEXT_START);

    let mut asm = Asm::new();
    asm.li(T0, TEXT_START + 2)
        .push(ri("jalr", RA, T0, 0))
        .halt();
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(
        fault.kind,
        FaultKind::MisalignedJump {
            target: TEXT_START + 2
        }
    );
    assert_eq!(fault.pc, TEXT_START + 8);

    // A branch that is not taken does not check its target.
    let mut asm = Asm::new();
    asm.li(T0, 1).push(branch("beq", T0, ZERO, 6)).halt();
    assert!(run_words(&asm.words, &[], &[]).is_ok());
    let mut asm = Asm::new();
    asm.push(branch("beq", ZERO, ZERO, 6)).halt();
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(
        fault.kind,
        FaultKind::MisalignedJump {
            target: TEXT_START + 6
        }
    );
}

#[test]
fn running_off_the_text_faults() {
    let fault = fault_of(&[NOP, NOP], &[], &[]);
    assert_eq!(fault.kind, FaultKind::PcOutsideText);
    assert_eq!(
        (fault.pc, fault.instruction, fault.cycle),
        (TEXT_START + 8, 0, 2)
    );

    let mut asm = Asm::new();
    asm.li(T0, DATA_START).push(ri("jalr", ZERO, T0, 0));
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(
        (fault.kind, fault.pc),
        (FaultKind::PcOutsideText, DATA_START)
    );
}

#[test]
fn an_infinite_loop_hits_the_cycle_limit() {
    let fault = fault_of(&[jal(ZERO, 0)], &[], &[]);
    assert_eq!(
        fault.kind,
        FaultKind::CycleLimitExceeded {
            max_cycles: 100_000
        }
    );
    assert_eq!(
        (fault.pc, fault.cycle, fault.instruction),
        (TEXT_START, 100_000, jal(ZERO, 0))
    );
}

#[test]
fn halting_with_a_non_zero_code_is_a_fault() {
    let mut asm = Asm::new();
    asm.push(ri("addi", A0, ZERO, 3))
        .push(ri("addi", A7, ZERO, 0))
        .push(ECALL);
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(fault.kind, FaultKind::NonZeroExit { code: 3 });
    assert_eq!((fault.pc, fault.instruction), (TEXT_START + 8, ECALL));
}

#[test]
fn unknown_syscalls_fault() {
    let mut asm = Asm::new();
    asm.push(ri("addi", A7, ZERO, 99)).push(ECALL).halt();
    let fault = fault_of(&asm.words, &[], &[]);
    assert_eq!(fault.kind, FaultKind::UnknownSyscall { number: 99 });
}

#[test]
fn fault_messages_name_the_pc_and_instruction() {
    let fault = fault_of(&[0xffff_ffff], &[], &[]);
    assert_eq!(
        fault.to_string(),
        "guest fault at pc 0x00010000 (instruction 0xffffffff, cycle 0): illegal instruction"
    );
}

#[test]
fn oversized_input_and_invalid_settings_are_rejected_before_running() {
    use zisk_prover::{ExecConfig, Machine};
    let program = load(&halt(), &[]);
    let config = ExecConfig {
        max_input_bytes: 3,
        ..ExecConfig::default()
    };
    assert_eq!(
        Machine::new(&program, &config, b"four").err(),
        Some(ExecError::InputTooLarge {
            len_bytes: 4,
            max_input_bytes: 3
        })
    );
    let config = ExecConfig {
        segment_cycles_log2: 0,
        ..ExecConfig::default()
    };
    assert!(matches!(
        Machine::new(&program, &config, b""),
        Err(ExecError::Config(_))
    ));
}

#[test]
fn committing_past_the_output_limit_faults() {
    use zisk_prover::{ExecConfig, Machine};
    // commit(DATA_START, 8) twice with a 12-byte limit.
    let mut asm = Asm::new();
    for _ in 0..2 {
        asm.li(A0, DATA_START)
            .push(ri("addi", A1, ZERO, 8))
            .push(ri("addi", A7, ZERO, 2));
        asm.push(ECALL);
    }
    asm.halt();
    let program = load(&asm.words, &[]);
    let config = ExecConfig {
        max_output_bytes: 12,
        ..ExecConfig::default()
    };
    let mut machine = Machine::new(&program, &config, &[]).unwrap();
    match machine.run_to_end() {
        Err(ExecError::Fault(fault)) => {
            assert_eq!(
                fault.kind,
                FaultKind::OutputLimitExceeded {
                    max_output_bytes: 12
                }
            );
            assert_eq!(fault.pc, TEXT_START + 4 * 9);
        }
        other => panic!("expected an output-limit fault, got {other:?}"),
    }
    assert_eq!(
        machine.public_outputs().len(),
        8,
        "the faulting commit changed nothing"
    );
}

#[test]
fn syscall_buffers_must_be_mapped_and_input_buffers_writable() {
    // read_input into the text, read_input into the null guard, commit from past the end.
    for (buffer, number, expected) in [
        (
            TEXT_START,
            1,
            FaultKind::WriteToText {
                address: TEXT_START,
            },
        ),
        (0x100, 1, FaultKind::UnmappedAccess { address: 0x100 }),
        (
            TEST_MEMORY_BYTES - 2,
            2,
            FaultKind::UnmappedAccess {
                address: TEST_MEMORY_BYTES,
            },
        ),
    ] {
        let mut asm = Asm::new();
        asm.li(A0, buffer)
            .push(ri("addi", A1, ZERO, 4))
            .push(ri("addi", A7, ZERO, number));
        asm.push(ECALL).halt();
        let fault = fault_of(&asm.words, &[], b"some input");
        assert_eq!(fault.kind, expected, "{buffer:#x}");
        assert_eq!(fault.instruction, ECALL);
    }
}

#[test]
fn read_input_returns_zero_at_the_end_and_caps_each_transfer() {
    // Two reads of 5000 bytes from a 4100-byte input: 4096 then 4.
    let mut asm = Asm::new();
    for target in [T0, T1, T2] {
        asm.li(A0, DATA_START)
            .li(A1, 5000)
            .push(ri("addi", A7, ZERO, 1))
            .push(ECALL);
        asm.push(ri("addi", target, A0, 0));
    }
    asm.halt();
    let program = load(&asm.words, &[]);
    let elf_memory = zisk_prover::ExecConfig::default();
    let mut machine = zisk_prover::Machine::new(&program, &elf_memory, &[7u8; 4100]).unwrap();
    // The 4096-byte read overruns the 4 KiB data segment into zeroed RAM: still mapped.
    machine.run_to_end().unwrap();
    let registers = machine.registers();
    assert_eq!([registers[5], registers[6], registers[7]], [4096, 4, 0]);
}
