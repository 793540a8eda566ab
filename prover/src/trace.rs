//! What a recorded segment holds: its boundary states and the per-cycle records a prover
//! turns into a trace.

/// The architectural state at a segment boundary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SegmentState {
    /// Index of the segment that starts here (`cycle >> segment_cycles_log2`).
    pub segment_index: u32,
    /// Instructions executed before this point.
    pub cycle: u64,
    /// The next instruction to execute.
    pub pc: u32,
    /// `x0..x31` (`x0` is always 0).
    pub registers: [u32; 32],
}

/// One memory access: a whole aligned word, before and after.
///
/// Loads have `value_before == value_after`; sub-word stores carry the merged word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryAccess {
    /// The byte address the instruction used (for syscalls: the word address).
    pub address: u32,
    /// Whether the word was written.
    pub is_write: bool,
    /// The word at `address & !3` before the access.
    pub value_before: u32,
    /// The word at `address & !3` after the access.
    pub value_after: u32,
}

impl MemoryAccess {
    /// The aligned address of the accessed word.
    #[must_use]
    pub fn word_address(&self) -> u32 {
        self.address & !3
    }
}

/// One executed instruction.
///
/// Register values are read by field position, whatever the format: `rs1_value` is the
/// register named by bits 15..=19 of `instruction` before execution, `rs2_value` the one named
/// by bits 20..=24, and `rd_value` the one named by bits 7..=11 *after* execution (unchanged
/// for instructions that do not write a register; 0 when the field is `x0`). The register
/// effect of a syscall (a0) is in the matching [`SyscallRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepRecord {
    /// Instructions executed before this one.
    pub cycle: u64,
    /// Address of the instruction.
    pub pc: u32,
    /// Address of the next instruction (equal to `pc` for the halting ECALL).
    pub next_pc: u32,
    /// The instruction word.
    pub instruction: u32,
    /// Value of the register in the rs1 field, before.
    pub rs1_value: u32,
    /// Value of the register in the rs2 field, before.
    pub rs2_value: u32,
    /// Value of the register in the rd field, after.
    pub rd_value: u32,
    /// The load or store made by the instruction, if any.
    pub memory: Option<MemoryAccess>,
}

/// One ECALL and its effects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyscallRecord {
    /// Cycle of the ECALL (matches a [`StepRecord`]).
    pub cycle: u64,
    /// The syscall number (a7).
    pub number: u32,
    /// a0 and a1 before the call.
    pub arguments: [u32; 2],
    /// a0 after the call.
    pub result: u32,
    /// The range of [`Segment::syscall_accesses`] holding this call's memory accesses, in
    /// increasing address order.
    pub accesses: std::ops::Range<usize>,
}

/// A word of guest memory touched by a segment, for the cross-segment memory argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TouchedWord {
    /// The aligned word address.
    pub word_address: u32,
    /// The last earlier segment that touched this word, or `None` if no segment did (its
    /// value then comes from the program's initial memory image).
    pub previous_segment: Option<u32>,
    /// The word's value at the start of the segment.
    pub value_at_start: u32,
    /// The word's value at the end of the segment.
    pub value_at_end: u32,
}

/// A recorded segment: `2^segment_cycles_log2` consecutive cycles (fewer for the last one,
/// which ends with the halt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// State before the first step.
    pub start: SegmentState,
    /// State after the last step (the next segment's `start`, unless `halted`).
    pub end: SegmentState,
    /// The program halted in this segment: it is the last one.
    pub halted: bool,
    /// One record per cycle, in order.
    pub steps: Vec<StepRecord>,
    /// The ECALLs of the segment, in order.
    pub syscalls: Vec<SyscallRecord>,
    /// Memory accesses made by syscalls (see [`SyscallRecord::accesses`]).
    pub syscall_accesses: Vec<MemoryAccess>,
    /// Every word the segment touched (instruction or syscall, read or write), sorted by
    /// address.
    pub touched_words: Vec<TouchedWord>,
}

impl Segment {
    /// Empties the segment, keeping its allocations for reuse.
    pub fn clear(&mut self) {
        self.halted = false;
        self.steps.clear();
        self.syscalls.clear();
        self.syscall_accesses.clear();
        self.touched_words.clear();
    }
}

/// Hooks the emulator calls while running. With `RECORDING = false` every hook compiles away.
pub(crate) trait Tracer {
    const RECORDING: bool;
    fn step(&mut self, record: StepRecord);
    /// A word is touched for the first time in this segment. `previous_tag` is its last
    /// touch tag (segment index + 1, 0 for never).
    fn first_touch(&mut self, word_address: u32, previous_tag: u32, value_before: u32);
    fn syscall_access(&mut self, access: MemoryAccess);
    /// Number of syscall accesses recorded so far.
    fn syscall_access_count(&self) -> usize;
    fn syscall(&mut self, record: SyscallRecord);
}

/// The fast-forward tracer: records nothing.
pub(crate) struct NoTrace;

impl Tracer for NoTrace {
    const RECORDING: bool = false;
    #[inline(always)]
    fn step(&mut self, _record: StepRecord) {}
    #[inline(always)]
    fn first_touch(&mut self, _word_address: u32, _previous_tag: u32, _value_before: u32) {}
    #[inline(always)]
    fn syscall_access(&mut self, _access: MemoryAccess) {}
    #[inline(always)]
    fn syscall_access_count(&self) -> usize {
        0
    }
    #[inline(always)]
    fn syscall(&mut self, _record: SyscallRecord) {}
}

impl Tracer for Segment {
    const RECORDING: bool = true;
    #[inline(always)]
    fn step(&mut self, record: StepRecord) {
        self.steps.push(record);
    }
    #[inline(always)]
    fn first_touch(&mut self, word_address: u32, previous_tag: u32, value_before: u32) {
        self.touched_words.push(TouchedWord {
            word_address,
            previous_segment: previous_tag.checked_sub(1),
            value_at_start: value_before,
            value_at_end: value_before,
        });
    }
    fn syscall_access(&mut self, access: MemoryAccess) {
        self.syscall_accesses.push(access);
    }
    fn syscall_access_count(&self) -> usize {
        self.syscall_accesses.len()
    }
    fn syscall(&mut self, record: SyscallRecord) {
        self.syscalls.push(record);
    }
}
