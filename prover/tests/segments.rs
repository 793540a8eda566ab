//! Segmenting: fast-forward + record gives the same segment as a full recorded run, segment
//! boundaries chain, and the touch information supports a cross-segment memory argument.

mod common;

use std::collections::BTreeMap;

use common::*;
use zisk_prover::{ExecConfig, ExecError, Machine, Program, Segment, execute, record_segment};

fn guest(name: &str) -> Program {
    let path = format!("{}/guests/bin/{name}.elf", env!("CARGO_MANIFEST_DIR"));
    Program::from_elf(&std::fs::read(path).unwrap()).unwrap()
}

fn config(segment_cycles_log2: u32) -> ExecConfig {
    ExecConfig {
        segment_cycles_log2,
        max_cycles: 1 << 28,
        ..ExecConfig::default()
    }
}

/// Every segment of one machine's run, recorded in order.
fn record_all(program: &Program, config: &ExecConfig, input: &[u8]) -> Vec<Segment> {
    let mut machine = Machine::new(program, config, input).unwrap();
    let mut segments = Vec::new();
    while !machine.is_halted() {
        segments.push(machine.record_segment().unwrap());
    }
    segments
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let sha_input: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    let sort_input: Vec<u8> = (0..300u32)
        .flat_map(|i| (i.wrapping_mul(2_654_435_761) % 977).to_le_bytes())
        .collect();
    vec![
        ("fibonacci", 200u32.to_le_bytes().to_vec()),
        ("sha256", sha_input),
        ("sort", sort_input),
        ("rv32im", Vec::new()),
    ]
}

#[test]
fn fast_forwarded_segments_equal_the_segments_of_a_full_recorded_run() {
    for (name, input) in cases() {
        let program = guest(name);
        for log2 in [4, 7, 10] {
            let config = config(log2);
            let full = record_all(&program, &config, &input);
            let summary = execute(&program, &config, &input).unwrap();
            assert_eq!(
                full.len(),
                summary.segment_count as usize,
                "{name} 2^{log2}"
            );
            for (index, expected) in full.iter().enumerate() {
                // Spot-check every segment for small runs, a sample for large ones.
                if full.len() > 64 && index % 17 != 0 && index + 1 != full.len() {
                    continue;
                }
                let got = record_segment(&program, &config, &input, index as u32).unwrap();
                assert_eq!(&got, expected, "{name}: segment {index} of 2^{log2} cycles");
            }
        }
    }
}

#[test]
fn segment_boundaries_chain_and_steps_are_contiguous() {
    for (name, input) in cases() {
        let program = guest(name);
        let config = config(6);
        let segments = record_all(&program, &config, &input);
        let first = &segments[0].start;
        assert_eq!(
            (first.cycle, first.pc, first.segment_index),
            (0, program.entry(), 0)
        );
        assert_eq!(
            first.registers[2],
            program.memory_size_bytes(),
            "sp starts at the end"
        );
        for (index, segment) in segments.iter().enumerate() {
            assert_eq!(segment.start.segment_index as usize, index);
            assert_eq!(segment.start.cycle, (index as u64) << 6);
            assert_eq!(segment.halted, index + 1 == segments.len(), "{name}");
            if let Some(next) = segments.get(index + 1) {
                assert_eq!(
                    segment.end, next.start,
                    "{name}: end of {index} == start of next"
                );
                assert_eq!(segment.steps.len(), 64);
            }
            let mut pc = segment.start.pc;
            for (offset, step) in segment.steps.iter().enumerate() {
                assert_eq!(step.cycle, segment.start.cycle + offset as u64);
                assert_eq!(step.pc, pc, "{name}: cycle {}", step.cycle);
                pc = step.next_pc;
            }
            assert_eq!(pc, segment.end.pc);
        }
    }
}

#[test]
fn segment_steps_are_slices_of_one_full_trace() {
    for (name, input) in cases() {
        let program = guest(name);
        // One segment large enough to hold the whole run.
        let whole = record_all(&program, &config(30), &input);
        assert_eq!(whole.len(), 1);
        let whole = &whole[0];
        for log2 in [3, 5, 9] {
            let segments = record_all(&program, &config(log2), &input);
            for (segment, slice) in segments.iter().zip(whole.steps.chunks(1 << log2)) {
                assert_eq!(segment.steps, slice, "{name}: 2^{log2}");
            }
            let syscalls: Vec<_> = segments
                .iter()
                .flat_map(|segment| {
                    segment.syscalls.iter().map(move |call| {
                        (
                            call.cycle,
                            call.number,
                            call.arguments,
                            call.result,
                            segment.syscall_accesses[call.accesses.clone()].to_vec(),
                        )
                    })
                })
                .collect();
            let whole_syscalls: Vec<_> = whole
                .syscalls
                .iter()
                .map(|call| {
                    (
                        call.cycle,
                        call.number,
                        call.arguments,
                        call.result,
                        whole.syscall_accesses[call.accesses.clone()].to_vec(),
                    )
                })
                .collect();
            assert_eq!(syscalls, whole_syscalls, "{name}: 2^{log2}");
        }
    }
}

#[test]
fn touched_words_link_each_segment_to_the_previous_toucher() {
    for (name, input) in cases() {
        let program = guest(name);
        let segments = record_all(&program, &config(5), &input);
        // Initial image.
        let mut image: BTreeMap<u32, u32> = BTreeMap::new();
        for segment in program.segments() {
            for (offset, &byte) in segment.data.iter().enumerate() {
                let address = segment.vaddr + offset as u32;
                *image.entry(address & !3).or_default() |= u32::from(byte) << (8 * (address % 4));
            }
        }
        // word -> (last segment, value at its end)
        let mut last: BTreeMap<u32, (u32, u32)> = BTreeMap::new();
        for (index, segment) in segments.iter().enumerate() {
            let index = index as u32;
            let mut previous_address = None;
            for word in &segment.touched_words {
                assert!(previous_address < Some(word.word_address), "sorted, unique");
                previous_address = Some(word.word_address);
                match last.get(&word.word_address) {
                    Some(&(segment_index, value)) => {
                        assert_eq!(word.previous_segment, Some(segment_index), "{name}");
                        assert_eq!(word.value_at_start, value, "{name}");
                    }
                    None => {
                        assert_eq!(word.previous_segment, None, "{name}");
                        let initial = image.get(&word.word_address).copied().unwrap_or(0);
                        assert_eq!(word.value_at_start, initial, "{name}");
                    }
                }
                last.insert(word.word_address, (index, word.value_at_end));
            }
            // Every access of the segment is to a touched word, and writes change values.
            let touched: BTreeMap<u32, _> = segment
                .touched_words
                .iter()
                .map(|word| (word.word_address, word))
                .collect();
            let accesses = segment
                .steps
                .iter()
                .filter_map(|step| step.memory)
                .chain(segment.syscall_accesses.iter().copied());
            for access in accesses {
                assert!(touched.contains_key(&access.word_address()), "{name}");
                if !access.is_write {
                    assert_eq!(access.value_before, access.value_after);
                }
            }
        }
        // The machine's final view agrees with the chain.
        let mut machine = Machine::new(&program, &config(5), &input).unwrap();
        machine.run_to_end().unwrap();
        let final_words: BTreeMap<u32, (u32, u32)> = machine
            .touched_words()
            .map(|(address, value, segment)| (address, (segment, value)))
            .collect();
        assert_eq!(final_words, last, "{name}");
    }
}

#[test]
fn step_records_carry_register_and_memory_values() {
    let mut asm = Asm::new();
    asm.li(T0, DATA_START) // 0, 1
        .li(T1, 0x8765_4321) // 2, 3
        .push(store("sh", T1, T0, 2)) // 4
        .push(ri("lb", T2, T0, 3)) // 5
        .push(rr("add", A1, T1, T2)) // 6
        .halt(); // 7, 8, 9
    let program = load(&asm.words, &0x1122_3344u32.to_le_bytes());
    let segment = record_segment(&program, &config(4), &[], 0).unwrap();
    assert!(segment.halted);
    assert_eq!(segment.steps.len(), 10);
    let sh = &segment.steps[4];
    assert_eq!((sh.rs1_value, sh.rs2_value), (DATA_START, 0x8765_4321));
    let access = sh.memory.unwrap();
    assert_eq!(
        (
            access.address,
            access.is_write,
            access.value_before,
            access.value_after
        ),
        (DATA_START + 2, true, 0x1122_3344, 0x4321_3344)
    );
    let lb = &segment.steps[5];
    assert_eq!(lb.rd_value, 0x43);
    assert_eq!(lb.memory.unwrap().value_before, 0x4321_3344);
    let add = &segment.steps[6];
    assert_eq!(
        (add.rs1_value, add.rs2_value, add.rd_value),
        (0x8765_4321, 0x43, 0x8765_4364)
    );
    assert_eq!(add.memory, None);
    let ecall = &segment.steps[9];
    assert_eq!((ecall.instruction, ecall.next_pc), (ECALL, ecall.pc));
    assert_eq!(segment.syscalls.len(), 1);
    assert_eq!(segment.touched_words.len(), 1);
    assert_eq!(segment.touched_words[0].value_at_end, 0x4321_3344);
}

#[test]
fn syscall_accesses_are_recorded_word_by_word() {
    // read_input(DATA_START + 1, 6) then commit(DATA_START, 8)
    let mut asm = Asm::new();
    asm.li(A0, DATA_START + 1)
        .push(ri("addi", A1, ZERO, 6))
        .push(ri("addi", A7, ZERO, 1))
        .push(ECALL)
        .li(A0, DATA_START)
        .push(ri("addi", A1, ZERO, 8))
        .push(ri("addi", A7, ZERO, 2))
        .push(ECALL)
        .halt();
    let program = load(&asm.words, &[0xaa; 8]);
    let segment = record_segment(&program, &config(6), b"abcdefgh", 0).unwrap();
    assert_eq!(segment.syscalls.len(), 3);
    let read = &segment.syscalls[0];
    assert_eq!(
        (read.number, read.arguments, read.result),
        (1, [DATA_START + 1, 6], 6)
    );
    let writes = &segment.syscall_accesses[read.accesses.clone()];
    assert_eq!(writes.len(), 2);
    assert_eq!(
        (writes[0].value_before, writes[0].value_after),
        (0xaaaa_aaaa, 0x6362_61aa)
    );
    assert_eq!(
        (writes[1].value_before, writes[1].value_after),
        (0xaaaa_aaaa, 0xaa66_6564)
    );
    let commit = &segment.syscalls[1];
    assert_eq!(commit.result, 8);
    assert!(
        segment.syscall_accesses[commit.accesses.clone()]
            .iter()
            .all(|access| !access.is_write)
    );
    let mut machine = Machine::new(&program, &config(6), b"abcdefgh").unwrap();
    let summary = machine.run_to_end().unwrap();
    assert_eq!(summary.public_outputs, b"\xaaabcdef\xaa");
}

#[test]
fn asking_for_a_segment_past_the_end_or_in_the_past_is_an_error() {
    let program = guest("fibonacci");
    let config = config(4);
    let input = 30u32.to_le_bytes();
    let summary = execute(&program, &config, &input).unwrap();
    let count = summary.segment_count;
    assert_eq!(
        record_segment(&program, &config, &input, count),
        Err(ExecError::SegmentOutOfRange {
            index: count,
            segment_count: count
        })
    );
    let mut machine = Machine::new(&program, &config, &input).unwrap();
    machine.fast_forward_to_segment(2).unwrap();
    assert_eq!(
        machine.fast_forward_to_segment(1),
        Err(ExecError::SegmentInPast {
            index: 1,
            cycle: 32
        })
    );
    machine.run_to_end().unwrap();
    assert_eq!(machine.record_segment(), Err(ExecError::Halted));
}

#[test]
fn a_run_that_halts_exactly_on_a_boundary_has_no_empty_segment() {
    // 16 instructions: 13 NOPs then halt.
    let mut asm = Asm::new();
    asm.extend([NOP; 13]).halt();
    let program = load(&asm.words, &[]);
    let summary = execute(&program, &config(3), &[]).unwrap();
    assert_eq!((summary.cycles, summary.segment_count), (16, 2));
    let segments = record_all(&program, &config(3), &[]);
    assert_eq!(segments.len(), 2);
    assert!(segments[1].halted);
    assert_eq!(segments[1].end.cycle, 16);
}
