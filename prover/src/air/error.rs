//! [`TraceError`]: why a segment cannot be turned into traces.

/// A segment the tables cannot represent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The segment has no instruction.
    #[error("the segment is empty")]
    EmptySegment,
    /// The segment is longer than the tables' timestamps allow.
    #[error("segment of {cycles} cycles exceeds the maximum of {max_cycles}")]
    SegmentTooLong {
        /// Instructions in the segment.
        cycles: usize,
        /// [`super::MAX_SEGMENT_CYCLES`].
        max_cycles: u32,
    },
    /// A step's pc holds no instruction of the program (the segment is not of this program).
    #[error("no instruction of the program at pc {pc:#010x} (cycle {cycle})")]
    NotInRom {
        /// The step's pc.
        pc: u32,
        /// The step's global cycle.
        cycle: u64,
    },
    /// The segment's records contradict each other or the program (a syscall record missing
    /// for an ECALL, a memory access missing for a load or store, a value that differs).
    #[error("inconsistent segment record at cycle {cycle}: {detail}")]
    InconsistentRecord {
        /// The global cycle.
        cycle: u64,
        /// What does not match.
        detail: &'static str,
    },
    /// The segment's index is at or above [`super::MAX_SEGMENTS`].
    #[error("segment index {index} is at or above the maximum of {max_segments} segments")]
    TooManySegments {
        /// The segment's index.
        index: u32,
        /// [`super::MAX_SEGMENTS`].
        max_segments: u32,
    },
    /// The input or a position does not fit the tables (at most 2^30 bytes).
    #[error("input of {len_bytes} bytes or position {position} out of range")]
    InputOutOfRange {
        /// Input length.
        len_bytes: usize,
        /// The offending position.
        position: u32,
    },
}
