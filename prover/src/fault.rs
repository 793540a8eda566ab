//! Errors of execution: guest faults and misuse of the emulator.

use crate::config::ConfigError;

/// What went wrong in a [`GuestFault`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FaultKind {
    /// The word at `pc` is not an RV32IM instruction (CSR, atomic, compressed, floating
    /// point, FENCE.I or an unassigned encoding).
    #[error("illegal instruction")]
    IllegalInstruction,
    /// EBREAK was executed; the zkVM has no debugger to trap to.
    #[error("breakpoint (ebreak)")]
    Breakpoint,
    /// `pc` is outside the text segment (the fault's `instruction` is 0: nothing was fetched).
    #[error("pc outside the text segment")]
    PcOutsideText,
    /// A jump or taken branch targets an address that is not 4-byte aligned.
    #[error("jump to misaligned address {target:#010x}")]
    MisalignedJump {
        /// The computed target.
        target: u32,
    },
    /// A load or store address is not aligned to its access size.
    #[error("misaligned memory access at {address:#010x}")]
    MisalignedAccess {
        /// The accessed address.
        address: u32,
    },
    /// A load, store or syscall buffer touches an address outside guest memory.
    #[error("access to unmapped address {address:#010x}")]
    UnmappedAccess {
        /// The first unmapped address accessed.
        address: u32,
    },
    /// A store or a `read_input` buffer writes into the text segment.
    #[error("write to the text segment at {address:#010x}")]
    WriteToText {
        /// The first text address written.
        address: u32,
    },
    /// The guest would execute more than `max_cycles` instructions.
    #[error("cycle limit of {max_cycles} exceeded")]
    CycleLimitExceeded {
        /// The configured limit.
        max_cycles: u64,
    },
    /// The guest halted with a non-zero exit code.
    #[error("guest exited with code {code}")]
    NonZeroExit {
        /// The exit code (a0 at the halt syscall).
        code: u32,
    },
    /// ECALL with an unknown syscall number in a7.
    #[error("unknown syscall number {number}")]
    UnknownSyscall {
        /// The value of a7.
        number: u32,
    },
    /// The guest committed more public output than `max_output_bytes`.
    #[error("public output exceeds the limit of {max_output_bytes} bytes")]
    OutputLimitExceeded {
        /// The configured limit.
        max_output_bytes: usize,
    },
}

/// A guest fault: execution stopped at `pc` because of `kind`.
///
/// The machine's state is left as it was just before the faulting instruction: `pc` and
/// `cycle` name that instruction, and no register or memory write of it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("guest fault at pc {pc:#010x} (instruction {instruction:#010x}, cycle {cycle}): {kind}")]
pub struct GuestFault {
    /// Address of the faulting instruction.
    pub pc: u32,
    /// The faulting instruction word (0 if none could be fetched).
    pub instruction: u32,
    /// The cycle at which it faulted (instructions executed before it).
    pub cycle: u64,
    /// What went wrong.
    pub kind: FaultKind,
}

/// Why an execution request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// The guest faulted.
    #[error(transparent)]
    Fault(#[from] GuestFault),
    /// The execution settings are out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input is larger than `max_input_bytes`.
    #[error("input is {len_bytes} bytes, more than the limit of {max_input_bytes} bytes")]
    InputTooLarge {
        /// Size of the given input.
        len_bytes: usize,
        /// The configured limit.
        max_input_bytes: usize,
    },
    /// The requested segment does not exist: the program halts before it starts.
    #[error("segment {index} does not exist: the program halts after {segment_count} segments")]
    SegmentOutOfRange {
        /// The requested segment.
        index: u32,
        /// Number of segments of the run (all of them start before the halt).
        segment_count: u32,
    },
    /// The machine is already past the start of the requested segment; machines only move
    /// forward.
    #[error("cannot go back to segment {index}: the machine is at cycle {cycle}")]
    SegmentInPast {
        /// The requested segment.
        index: u32,
        /// The machine's current cycle.
        cycle: u64,
    },
    /// The machine has halted; there is nothing left to run or record.
    #[error("the machine has already halted")]
    Halted,
}
