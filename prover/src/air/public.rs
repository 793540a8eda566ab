//! The public values of a segment proof: one layout shared by every table.
//!
//! | index | name | meaning |
//! |---|---|---|
//! | 0 | `START_PC` | pc of the first instruction of the segment |
//! | 1 | `END_PC` | pc after the last instruction (the halting ECALL's own pc if it halted) |
//! | 2, 3 | `START_CYCLE_LO`, `_HI` | global cycle of the first instruction, `lo = cycle mod 2^24`, `hi = cycle >> 24` |
//! | 4 | `CYCLE_COUNT` | instructions in the segment (at least 1) |
//! | 5 | `HALTED` | 1 if the segment ends with the `halt` syscall, else 0 |
//! | 6, 7 | `EXIT_CODE_LO`, `_HI` | a0 at the halt (16-bit limbs); 0 if not halted |
//! | 8 | `INPUT_LEN` | length of the whole public input in bytes |
//! | 9, 10 | `INPUT_START`, `INPUT_END` | input position (bytes consumed by `read_input`) before and after the segment |
//! | 11, 12 | `OUTPUT_START`, `OUTPUT_END` | output position (bytes committed) before and after the segment |
//! | 13 | `SEGMENT_INDEX` | the segment's index `k` in the run; its `gmem` tag is `k + 1` |
//!
//! The tables bind every value except the start cycle, which only orders segments (the tables
//! use segment-local timestamps): the aggregator checks `START_CYCLE(k+1) = START_CYCLE(k) +
//! CYCLE_COUNT(k)`, `START_PC(k+1) = END_PC(k)`, the io positions chaining and that segment
//! indices are `0, 1, ..`.

use p3_field::PrimeCharacteristicRing;

use super::Val;

/// pc of the first instruction.
pub const START_PC: usize = 0;
/// pc after the last instruction.
pub const END_PC: usize = 1;
/// Global start cycle, low 24 bits.
pub const START_CYCLE_LO: usize = 2;
/// Global start cycle, bits 24 and up.
pub const START_CYCLE_HI: usize = 3;
/// Instructions in the segment.
pub const CYCLE_COUNT: usize = 4;
/// 1 if the segment ends with the halt syscall.
pub const HALTED: usize = 5;
/// Exit code, low 16 bits.
pub const EXIT_CODE_LO: usize = 6;
/// Exit code, high 16 bits.
pub const EXIT_CODE_HI: usize = 7;
/// Length of the public input.
pub const INPUT_LEN: usize = 8;
/// Input position at the start of the segment.
pub const INPUT_START: usize = 9;
/// Input position at the end of the segment.
pub const INPUT_END: usize = 10;
/// Output position at the start of the segment.
pub const OUTPUT_START: usize = 11;
/// Output position at the end of the segment.
pub const OUTPUT_END: usize = 12;
/// The segment's index in the run.
pub const SEGMENT_INDEX: usize = 13;
/// Number of public values.
pub const NUM_PUBLIC_VALUES: usize = 14;

/// The public values of a segment, as integers.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct SegmentPublics {
    /// pc of the first instruction.
    pub start_pc: u32,
    /// pc after the last instruction.
    pub end_pc: u32,
    /// Global cycle of the first instruction.
    pub start_cycle: u64,
    /// Instructions in the segment.
    pub cycle_count: u32,
    /// Whether the segment ends with the halt syscall.
    pub halted: bool,
    /// a0 at the halt (0 if not halted).
    pub exit_code: u32,
    /// Length of the public input.
    pub input_len: u32,
    /// Input position before the segment.
    pub input_start: u32,
    /// Input position after the segment.
    pub input_end: u32,
    /// Output position before the segment.
    pub output_start: u32,
    /// Output position after the segment.
    pub output_end: u32,
    /// The segment's index in the run.
    pub segment_index: u32,
}

impl SegmentPublics {
    /// The field encoding, in the order of the index constants.
    #[must_use]
    pub fn to_field(&self) -> Vec<Val> {
        let mut values = vec![Val::ZERO; NUM_PUBLIC_VALUES];
        values[START_PC] = Val::from_u32(self.start_pc);
        values[END_PC] = Val::from_u32(self.end_pc);
        values[START_CYCLE_LO] = Val::from_u64(self.start_cycle & 0xff_ffff);
        values[START_CYCLE_HI] = Val::from_u64(self.start_cycle >> 24);
        values[CYCLE_COUNT] = Val::from_u32(self.cycle_count);
        values[HALTED] = Val::from_bool(self.halted);
        values[EXIT_CODE_LO] = Val::from_u32(self.exit_code & 0xffff);
        values[EXIT_CODE_HI] = Val::from_u32(self.exit_code >> 16);
        values[INPUT_LEN] = Val::from_u32(self.input_len);
        values[INPUT_START] = Val::from_u32(self.input_start);
        values[INPUT_END] = Val::from_u32(self.input_end);
        values[OUTPUT_START] = Val::from_u32(self.output_start);
        values[OUTPUT_END] = Val::from_u32(self.output_end);
        values[SEGMENT_INDEX] = Val::from_u32(self.segment_index);
        values
    }
}
