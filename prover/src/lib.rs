//! The zkVM of the zisk proving cluster: loading RV32IM guest programs, running them, and
//! proving their runs.
//!
//! - [`Program`] loads and validates an ELF32 RISC-V executable ([`ElfError`] says why one is
//!   rejected) and names it by content hash ([`ProgramId`]).
//! - [`Machine`] runs it deterministically: syscalls (see [`syscall`] and docs/guest-abi.md)
//!   read input bytes and commit public output bytes; anything the guest does wrong ends the
//!   run with a [`GuestFault`] naming the pc and instruction.
//! - The run is cut into segments of `2^segment_cycles_log2` cycles. A worker fast-forwards
//!   to the start of its segment without recording ([`Machine::fast_forward_to_segment`]),
//!   then records it ([`Machine::record_segment`]): boundary states, one [`StepRecord`] per
//!   cycle, syscall effects and the words it touched with the segment that touched each last
//!   (what a memory argument across segments needs).
//!
//! - [`air`] holds the RV32IM tables, [`stark`] the two-phase segment STARK, and
//!   [`pipeline`] the proving pipeline of a whole run: setup, phase-1 contributions, the
//!   global challenge, phase-2 proofs, aggregation and [`pipeline::verify`]
//!   ([`pipeline::prove_local`] runs all of it in one process).
//!
//! ```
//! use zisk_prover::{ExecConfig, Machine, Program, execute};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let elf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/guests/bin/fibonacci.elf"))?;
//! let program = Program::from_elf(&elf)?;
//! println!("program id {}", program.id());
//!
//! // fib(10) = 55: the guest commits n and fib(n) as little-endian u32 and u64.
//! let config = ExecConfig { segment_cycles_log2: 6, ..ExecConfig::default() };
//! let summary = execute(&program, &config, &10u32.to_le_bytes())?;
//! assert_eq!(summary.public_outputs[4..], 55u64.to_le_bytes());
//!
//! // A worker proving the last segment reaches it cheaply, then records it.
//! let last = summary.segment_count - 1;
//! let mut machine = Machine::new(&program, &config, &10u32.to_le_bytes())?;
//! machine.fast_forward_to_segment(last)?;
//! let segment = machine.record_segment()?;
//! assert!(segment.halted);
//! assert_eq!(segment.end.cycle, summary.cycles);
//! # Ok(())
//! # }
//! ```

pub mod air;
mod config;
mod decode;
mod elf;
mod fault;
mod machine;
mod memory;
pub mod pipeline;
mod program;
mod program_id;
pub mod stark;
pub mod syscall;
mod trace;

pub use config::{
    ConfigError, DEFAULT_MAX_CYCLES, DEFAULT_MAX_ELF_SIZE_BYTES, DEFAULT_MAX_INPUT_BYTES,
    DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MEMORY_SIZE_BYTES, DEFAULT_SEGMENT_CYCLES_LOG2, ExecConfig,
    GUEST_MEMORY_START, LoadConfig, MAX_CYCLES_LIMIT, MAX_ELF_SIZE_BYTES, MAX_MEMORY_SIZE_BYTES,
    MAX_PROGRAM_HEADERS, MAX_SEGMENT_CYCLES_LOG2, MAX_SYSCALL_TRANSFER_BYTES, MEMORY_PAGE_BYTES,
    MIN_MEMORY_SIZE_BYTES, MIN_SEGMENT_CYCLES_LOG2,
};
pub use elf::{ElfError, LoadSegment};
pub use fault::{ExecError, FaultKind, GuestFault};
pub use machine::{ExecutionSummary, Machine, execute, record_segment};
pub use program::Program;
pub use program_id::{ParseProgramIdError, ProgramId};
pub use trace::{MemoryAccess, Segment, SegmentState, StepRecord, SyscallRecord, TouchedWord};
