//! [`segment_traces`]: from a recorded segment to the main traces of every table, the public
//! values and the segment boundary.
//!
//! One sequential pass over the steps replays registers and timestamps (the last access of
//! each register and word), fills the cpu rows and collects the ALU, syscall and io events;
//! the ALU tables are then filled from their events. Lookup multiplicities are counted as the
//! rows are filled.

use std::collections::HashMap;

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;

use super::boundary::BoundaryWord;
use super::bus::MemorySpace;
use super::counts::Counts;
use super::cpu::trace::{MemoryPort, Step, cpu_result};
use super::error::TraceError;
use super::io::IoWord;
use super::program::{AluOp, Flag, ProgramTables};
use super::public::SegmentPublics;
use super::syscall::SyscallEvent;
use super::table::TableKind;
use super::{MIN_HEIGHT, Val, bitwise, boundary, cpu, div, io, lookup_tables, mul, syscall};
use crate::Segment;
use crate::syscall::{SYSCALL_COMMIT, SYSCALL_HALT, SYSCALL_READ_INPUT};

/// The most cycles a segment may have: timestamps `4 * cycle + slot + 1` stay at or below
/// `2^24`, the bound of the `ts - prev_ts - 1` range check.
pub const MAX_SEGMENT_CYCLES: u32 = 1 << 22;

/// The most segments a run may have: the boundary table checks `k - previous_tag < 2^16`.
pub const MAX_SEGMENTS: u32 = 1 << 16;

/// Where the segment stands in the run's input and output.
#[derive(Clone, Copy, Debug)]
pub struct SegmentIo<'a> {
    /// The whole public input of the run.
    pub input: &'a [u8],
    /// Input bytes consumed before the segment.
    pub input_start: u32,
    /// Output bytes committed before the segment.
    pub output_start: u32,
}

/// The prover's side of one segment.
#[derive(Clone, Debug)]
pub struct SegmentWitness {
    /// Main traces in [`TableKind::ALL`] order.
    pub traces: Vec<RowMajorMatrix<Val>>,
    /// The public values ([`SegmentPublics::to_field`]).
    pub public_values: Vec<Val>,
    /// The same, as integers.
    pub publics: SegmentPublics,
    /// Every register and word the segment's memory argument opens and closes, sorted by
    /// (space, address): the rows of the boundary table.
    pub boundary: Vec<BoundaryWord>,
    /// The bytes the segment committed.
    pub output: Vec<u8>,
}

impl SegmentWitness {
    /// The trace of `kind`.
    #[must_use]
    pub fn trace(&self, kind: TableKind) -> &RowMajorMatrix<Val> {
        &self.traces[kind as usize]
    }

    /// Mutable access to the trace of `kind` (negative tests tamper with it).
    pub fn trace_mut(&mut self, kind: TableKind) -> &mut RowMajorMatrix<Val> {
        &mut self.traces[kind as usize]
    }
}

fn height(rows: usize) -> usize {
    rows.next_power_of_two().max(MIN_HEIGHT)
}

/// Replayed memory state: last access timestamp of every register and touched word.
struct Timestamps {
    registers: [u32; 32],
    words: HashMap<u32, u32>,
}

impl Timestamps {
    /// Records an access at `ts`, returning `ts - prev_ts - 1`.
    fn register(&mut self, index: u8, ts: u32) -> u32 {
        let previous = std::mem::replace(&mut self.registers[index as usize], ts);
        ts - previous - 1
    }

    fn word(&mut self, word_index: u32, ts: u32) -> u32 {
        let previous = self.words.insert(word_index, ts).unwrap_or(0);
        ts - previous - 1
    }
}

/// Builds the traces, public values and boundary of `segment`.
///
/// # Errors
/// An empty or too long segment, a step outside the program, inconsistent records, or an
/// input too large for the tables.
#[allow(clippy::too_many_lines)]
pub fn segment_traces(
    program: &ProgramTables,
    segment: &Segment,
    io_state: &SegmentIo<'_>,
) -> Result<SegmentWitness, TraceError> {
    let cycles = segment.steps.len();
    if cycles == 0 {
        return Err(TraceError::EmptySegment);
    }
    if cycles > MAX_SEGMENT_CYCLES as usize {
        return Err(TraceError::SegmentTooLong {
            cycles,
            max_cycles: MAX_SEGMENT_CYCLES,
        });
    }
    let segment_index = segment.start.segment_index;
    if segment_index >= MAX_SEGMENTS {
        return Err(TraceError::TooManySegments {
            index: segment_index,
            max_segments: MAX_SEGMENTS,
        });
    }
    let input_len = u32::try_from(io_state.input.len())
        .ok()
        .filter(|&len| len < 1 << 30 && io_state.input_start <= len)
        .ok_or(TraceError::InputOutOfRange {
            len_bytes: io_state.input.len(),
            position: io_state.input_start,
        })?;
    let mut counts = Counts::new(program.rom_height());
    let cpu_height = height(cycles);
    let mut cpu_values = vec![Val::ZERO; cpu_height * cpu::WIDTH];
    let mut registers = segment.start.registers;
    let mut timestamps = Timestamps {
        registers: [0; 32],
        words: HashMap::new(),
    };
    let mut alu_events: [Vec<(AluOp, u32, u32)>; 3] = Default::default();
    let mut syscalls: Vec<SyscallEvent> = Vec::new();
    let mut io_words: Vec<IoWord> = Vec::new();
    let (mut in_pos, mut out_pos) = (io_state.input_start, io_state.output_start);
    let mut output = Vec::new();
    let mut next_syscall = segment.syscalls.iter();
    let mut exit_code = 0;

    for (index, (record, row)) in segment
        .steps
        .iter()
        .zip(cpu_values.chunks_exact_mut(cpu::WIDTH))
        .enumerate()
    {
        let cycle = index as u32;
        let inconsistent = |detail| TraceError::InconsistentRecord {
            cycle: record.cycle,
            detail,
        };
        let rom_index = program.rom_index(record.pc).ok_or(TraceError::NotInRom {
            pc: record.pc,
            cycle: record.cycle,
        })?;
        counts.rom[rom_index] += 1;
        let rom_row = *program.row(rom_index);
        let mut deltas = [0u32; 4];
        let mut memory = None;
        let mut is_halt = false;
        let (b, c, rd_prev, a);
        if rom_row.flag == Some(Flag::Ecall) {
            let call = next_syscall
                .next()
                .filter(|call| call.cycle == record.cycle)
                .ok_or(inconsistent("no syscall record for an ECALL"))?;
            (b, c, rd_prev, a) = (
                call.number,
                call.arguments[1],
                call.arguments[0],
                call.result,
            );
            is_halt = call.number == SYSCALL_HALT;
            if is_halt {
                exit_code = call.arguments[0];
            }
            let count = if is_halt { 0 } else { call.result };
            syscalls.push(SyscallEvent {
                cycle,
                number: call.number,
                a0: call.arguments[0],
                a1: call.arguments[1],
                count,
                in_pos,
                out_pos,
            });
            let output_stream = call.number == SYSCALL_COMMIT;
            if call.number == SYSCALL_READ_INPUT || output_stream {
                let position = if output_stream { out_pos } else { in_pos };
                let accesses = segment
                    .syscall_accesses
                    .get(call.accesses.clone())
                    .ok_or(inconsistent("syscall accesses out of range"))?;
                let buffer = call.arguments[0];
                let end = buffer.wrapping_add(count);
                let ts = cpu::timestamp(cycle, 2);
                for (i, access) in accesses.iter().enumerate() {
                    let word_address = access.word_address();
                    let first_byte = buffer.max(word_address);
                    let last_byte = (end - 1).min(word_address + 3);
                    let consumed = first_byte - buffer;
                    io_words.push(IoWord {
                        cycle,
                        output: output_stream,
                        first: i == 0,
                        last: i + 1 == accesses.len(),
                        word_address,
                        start: first_byte - word_address,
                        end: last_byte - word_address,
                        position: position + consumed,
                        remaining: count - consumed,
                        text: program.is_text(word_address),
                        before: access.value_before,
                        after: access.value_after,
                        delta: timestamps.word(word_address >> 2, ts),
                    });
                    if output_stream {
                        for byte_address in first_byte..=last_byte {
                            let lane = byte_address - word_address;
                            output.push((access.value_before >> (8 * lane)) as u8);
                        }
                    }
                }
                if output_stream {
                    out_pos += count;
                } else {
                    in_pos += count;
                }
            }
            deltas[0] = timestamps.register(17, cpu::timestamp(cycle, 0));
            deltas[1] = timestamps.register(11, cpu::timestamp(cycle, 1));
            deltas[3] = timestamps.register(10, cpu::timestamp(cycle, 3));
            registers[10] = a;
        } else {
            b = if rom_row.rs1_read() {
                registers[rom_row.rs1 as usize]
            } else {
                0
            };
            c = if rom_row.c_is_imm {
                rom_row.imm
            } else if rom_row.rs2_read() {
                registers[rom_row.rs2 as usize]
            } else {
                0
            };
            rd_prev = registers[rom_row.rd as usize];
            if rom_row.rs1_read() {
                deltas[0] = timestamps.register(rom_row.rs1, cpu::timestamp(cycle, 0));
            }
            if rom_row.rs2_read() {
                deltas[1] = timestamps.register(rom_row.rs2, cpu::timestamp(cycle, 1));
            }
            if let Some(access) = record.memory {
                let ts = cpu::timestamp(cycle, 2);
                deltas[2] = timestamps.word(access.word_address() >> 2, ts);
                memory = Some(MemoryPort {
                    before: access.value_before,
                    after: access.value_after,
                    text: program.is_text(access.address),
                });
            }
            a = if let Some(op) = rom_row.alu_op {
                let table = match op {
                    AluOp::Xor | AluOp::Or | AluOp::And => 0,
                    AluOp::Div | AluOp::Divu | AluOp::Rem | AluOp::Remu => 2,
                    _ => 1,
                };
                alu_events[table].push((op, b, c));
                alu_result(op, b, c)
            } else {
                let loaded = memory.map_or(0, |port: MemoryPort| port.before);
                cpu_result(&rom_row, record.pc, b, c, loaded).unwrap_or(0)
            };
            if rom_row.rd_write() {
                deltas[3] = timestamps.register(rom_row.rd, cpu::timestamp(cycle, 3));
                if a != record.rd_value {
                    return Err(inconsistent("rd value differs from the replay"));
                }
                registers[rom_row.rd as usize] = a;
            }
        }
        let step = Step {
            cycle,
            pc: record.pc,
            next_pc: record.next_pc,
            b,
            c,
            a,
            rd_prev,
            deltas,
            memory,
            is_halt,
        };
        cpu::trace::fill_row(row, &mut counts, &rom_row, &step);
    }
    for (index, row) in cpu_values
        .chunks_exact_mut(cpu::WIDTH)
        .enumerate()
        .skip(cycles)
    {
        cpu::trace::fill_padding(row, index as u32);
    }
    if registers != segment.end.registers {
        return Err(TraceError::InconsistentRecord {
            cycle: segment.end.cycle,
            detail: "replayed registers differ from the end state",
        });
    }

    // ALU tables.
    let [bitwise_events, mul_events, div_events] = alu_events;
    let bitwise_trace = fill(&bitwise_events, bitwise::WIDTH, |row, &(op, b, c)| {
        bitwise::fill_row(row, op, b, c);
        for i in 0..4 {
            counts.byte_and((b >> (8 * i)) & 0xff, (c >> (8 * i)) & 0xff);
        }
    });
    let mut mul_trace = fill(&mul_events, mul::WIDTH, |row, &(op, b, c)| {
        mul::fill_row(row, &mut counts, op, b, c);
    });
    for row in mul_trace
        .values
        .chunks_exact_mut(mul::WIDTH)
        .skip(mul_events.len())
    {
        mul::fill_padding(row);
    }
    let div_trace = fill(&div_events, div::WIDTH, |row, &(op, b, c)| {
        div::fill_row(row, &mut counts, op, b, c);
    });

    // Syscalls, then their padding rows keep the final positions.
    let mut previous_cycle = None;
    let mut syscall_trace = fill(&syscalls, syscall::WIDTH, |row, event| {
        syscall::fill_row(row, &mut counts, event, previous_cycle, input_len);
        previous_cycle = Some(event.cycle);
    });
    for row in syscall_trace
        .values
        .chunks_exact_mut(syscall::WIDTH)
        .skip(syscalls.len())
    {
        row[syscall::IN_POS] = Val::from_u32(in_pos);
        row[syscall::OUT_POS] = Val::from_u32(out_pos);
    }
    let io_trace = fill(&io_words, io::WIDTH, |row, word| {
        io::fill_row(row, &mut counts, word)
    });

    // The boundary, then the lookup tables (the boundary's range checks counted first).
    let boundary = boundary_words(program, segment, &timestamps)?;
    let boundary_trace = fill(&boundary, boundary::WIDTH, |row, word| {
        boundary::fill_row(row, &mut counts, word, segment_index);
    });
    let rom_trace = RowMajorMatrix::new(counts.rom.iter().map(|&n| Val::from_u32(n)).collect(), 1);
    let range16_trace = RowMajorMatrix::new(
        counts.range16.iter().map(|&n| Val::from_u32(n)).collect(),
        1,
    );
    let bytes_trace = RowMajorMatrix::new(
        counts
            .byte_pair
            .iter()
            .zip(&counts.byte_and)
            .flat_map(|(&pair, &and)| [Val::from_u32(pair), Val::from_u32(and)])
            .collect(),
        lookup_tables::BYTES_WIDTH,
    );

    let publics = SegmentPublics {
        start_pc: segment.start.pc,
        end_pc: segment.end.pc,
        start_cycle: segment.start.cycle,
        cycle_count: cycles as u32,
        halted: segment.halted,
        exit_code,
        input_len,
        input_start: io_state.input_start,
        input_end: in_pos,
        output_start: io_state.output_start,
        output_end: out_pos,
        segment_index,
    };
    Ok(SegmentWitness {
        traces: vec![
            RowMajorMatrix::new(cpu_values, cpu::WIDTH),
            rom_trace,
            range16_trace,
            bytes_trace,
            bitwise_trace,
            mul_trace,
            div_trace,
            syscall_trace,
            io_trace,
            boundary_trace,
        ],
        public_values: publics.to_field(),
        publics,
        boundary,
        output,
    })
}

/// A table with one row per event, padded with zero rows.
fn fill<T>(
    events: &[T],
    width: usize,
    mut fill_row: impl FnMut(&mut [Val], &T),
) -> RowMajorMatrix<Val> {
    let mut values = vec![Val::ZERO; height(events.len()) * width];
    for (row, event) in values.chunks_exact_mut(width).zip(events) {
        fill_row(row, event);
    }
    RowMajorMatrix::new(values, width)
}

/// The RV32IM result of an ALU-table instruction.
pub(crate) fn alu_result(op: AluOp, b: u32, c: u32) -> u32 {
    let shift = c & 31;
    match op {
        AluOp::Xor => b ^ c,
        AluOp::Or => b | c,
        AluOp::And => b & c,
        AluOp::Sll => b << shift,
        AluOp::Srl => b >> shift,
        AluOp::Sra => ((b as i32) >> shift) as u32,
        AluOp::Mul => b.wrapping_mul(c),
        AluOp::Mulh => ((i64::from(b as i32) * i64::from(c as i32)) >> 32) as u32,
        AluOp::Mulhsu => ((i64::from(b as i32) * i64::from(c)) >> 32) as u32,
        AluOp::Mulhu => ((u64::from(b) * u64::from(c)) >> 32) as u32,
        AluOp::Div => match c {
            0 => u32::MAX,
            _ => (b as i32).wrapping_div(c as i32) as u32,
        },
        AluOp::Divu => b.checked_div(c).unwrap_or(u32::MAX),
        AluOp::Rem => match c {
            0 => b,
            _ => (b as i32).wrapping_rem(c as i32) as u32,
        },
        AluOp::Remu => b.checked_rem(c).unwrap_or(b),
    }
}

/// Registers `x1..x31`, then every touched word, each with its last timestamp and the tag of
/// its start value.
fn boundary_words(
    program: &ProgramTables,
    segment: &Segment,
    timestamps: &Timestamps,
) -> Result<Vec<BoundaryWord>, TraceError> {
    // Every segment opens every register: the previous segment left them.
    let register_tag = segment.start.segment_index;
    let mut words: Vec<BoundaryWord> = (1..32)
        .map(|index| BoundaryWord {
            space: MemorySpace::Register,
            address: index,
            value_at_start: segment.start.registers[index as usize],
            value_at_end: segment.end.registers[index as usize],
            last_timestamp: timestamps.registers[index as usize],
            previous_tag: register_tag,
        })
        .collect();
    for touched in &segment.touched_words {
        let last_timestamp = timestamps
            .words
            .get(&(touched.word_address >> 2))
            .copied()
            .ok_or(TraceError::InconsistentRecord {
                cycle: segment.start.cycle,
                detail: "a touched word was not accessed",
            })?;
        words.push(BoundaryWord {
            space: if program.is_text(touched.word_address) {
                MemorySpace::Text
            } else {
                MemorySpace::Ram
            },
            address: touched.word_address >> 2,
            value_at_start: touched.value_at_start,
            value_at_end: touched.value_at_end,
            last_timestamp,
            previous_tag: touched.previous_segment.map_or(0, |segment| segment + 1),
        });
    }
    if words.len() - 31 != timestamps.words.len() {
        return Err(TraceError::InconsistentRecord {
            cycle: segment.start.cycle,
            detail: "an accessed word is missing from the touched words",
        });
    }
    words.sort_by_key(|word| (word.space, word.address));
    Ok(words)
}
