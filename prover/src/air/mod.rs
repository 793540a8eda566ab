//! The RV32IM tables (AIRs) of the segment STARK and their traces from a recorded
//! [`Segment`](crate::Segment).
//!
//! Ten tables ([`TableKind`]), all evaluated by one AIR type, [`RvTable`], over any builder
//! that implements [`p3_lookup::InteractionBuilder`]; they talk over the buses of [`bus`].
//! docs/soundness.md ("What is constrained") lists what the constraints guarantee.
//!
//! - [`ProgramTables::new`] builds the program-dependent part (the ROM) from a
//!   [`Program`](crate::Program); [`RvTable::all`] gives the tables.
//! - [`segment_traces`] turns a segment into the main traces, the public values
//!   ([`SegmentPublics`]) and the segment's boundary ([`BoundaryWord`]s, the rows of the
//!   boundary table).
//! - The memory argument spans segments: the boundary table links each segment to the
//!   others on the execution bus `gmem`, and a segment alone does not balance it. For a
//!   whole run, [`final_memory`], [`check_final_memory`] and [`run_external_messages`] give
//!   and check what the verifier adds: the initial image, the final memory, and the public
//!   input and output on `io`.
//! - [`check_segment`] checks every constraint on every row and the balance of every bus
//!   without a proof, with the rest of the run standing in ([`segment_closing_messages`]);
//!   [`check_run`] checks a whole run. They are the harness the tests use, with failures
//!   named by constraint and bus.
//! - Proving and verifying are [`crate::pipeline`]'s.
//!
//! Refinements of the design brief (docs/stark-design.md, "The zkVM tables"), and why:
//!
//! - Timestamps are `4 * local_cycle + slot + 1` (the boundary opens at 0). An ECALL reads a7
//!   and a1 and rewrites a0 through the ordinary register ports; the words of its transfer
//!   all use the ECALL's memory slot, which is enough because a transfer touches each word
//!   once — 1025 sub-slots per cycle would have cost every cycle.
//! - The text is its own read-only `mem` space: loads and commits may read it, stores and
//!   reads never address it, so a write into the text cannot balance (the emulator faults).
//! - The io positions live in the syscall table (from `INPUT_START`/`OUTPUT_START` to
//!   `INPUT_END`/`OUTPUT_END`), and `INPUT_LEN` is public, rather than being extra registers.
//! - The ROM tuple carries every selector, so cpu rows inherit a consistent decoding without
//!   one-hot constraints; targets at or above `2^30` are stored as `p - 1`.
//! - Shifts run in the mul table as products with `2^s`; division has its own table (the
//!   remainder comparison is wide and rare).
//! - The segment boundary is a table (rather than public lists the verifier adds, as first
//!   designed), so that no segment balances alone and the final proof carries no boundary
//!   lists: only the run's final memory.
//!
//! ```
//! use zisk_prover::air::{ProgramTables, SegmentIo, check_segment, segment_traces};
//! use zisk_prover::{ExecConfig, Program, execute, record_segment};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let elf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/guests/bin/fibonacci.elf"))?;
//! let program = Program::from_elf(&elf)?;
//! let input = 10u32.to_le_bytes();
//! let config = ExecConfig { segment_cycles_log2: 12, ..ExecConfig::default() };
//! let outputs = execute(&program, &config, &input)?.public_outputs;
//! let segment = record_segment(&program, &config, &input, 0)?;
//!
//! let tables = ProgramTables::new(&program);
//! let io = SegmentIo { input: &input, input_start: 0, output_start: 0 };
//! let witness = segment_traces(&tables, &segment, &io)?;
//! assert!(witness.publics.halted);
//! check_segment(&tables, &witness, &input, &outputs)?;
//! # Ok(())
//! # }
//! ```

mod bitwise;
mod boundary;
pub mod bus;
mod check;
mod cols;
mod counts;
mod cpu;
mod div;
mod error;
mod io;
mod labels;
pub mod layout;
mod lookup_tables;
mod mul;
mod product;
mod program;
pub mod public;
mod run;
mod syscall;
mod table;
mod witness;

pub use boundary::{BoundaryWord, segment_closing_messages};
pub use check::{
    BusImbalance, CheckError, ConstraintFailure, check_run, check_segment, check_traces,
    constraint_count, constraint_degrees,
};
pub use error::TraceError;
pub use program::{FILLER_PC, INVALID_TARGET, PC_LIMIT, ProgramTables};
pub use public::SegmentPublics;
pub use run::{
    BoundaryError, ExternalMessage, FinalWord, check_final_memory, check_first_segment,
    final_memory, initial_value, run_external_messages,
};
pub use table::{RvTable, TableKind};
pub use witness::{MAX_SEGMENT_CYCLES, MAX_SEGMENTS, SegmentIo, SegmentWitness, segment_traces};

/// The base field.
pub type Val = p3_koala_bear::KoalaBear;

/// Smallest height of a table (`2^2`, the framework's minimum).
pub(crate) const MIN_HEIGHT: usize = 4;
