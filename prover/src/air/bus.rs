//! The buses that connect the tables, and the memory spaces of the `mem` bus.
//!
//! | bus | kind | message | who |
//! |---|---|---|---|
//! | `rom` | lookup | pc and the 33 decoded fields of [`crate::air::layout::rom`] | cpu looks up, rom provides |
//! | `mem` | permutation | `(space, address, value_lo, value_hi, timestamp)` | every access receives the previous state and sends the new one; the segment boundary closes it |
//! | `range16` | lookup | `(v)`, `v < 2^16` | everyone looks up, range16 provides |
//! | `byte_pair` | lookup | `(a, b)`, both bytes | everyone looks up, bytes provides |
//! | `byte_and` | lookup | `(a, b, a & b)` | bitwise looks up, bytes provides |
//! | `alu` | permutation | `(op, a_lo, a_hi, b_lo, b_hi, c_lo, c_hi)`: `a = op(b, c)` | cpu sends, bitwise/mul/div receive |
//! | `syscall` | permutation | `(cycle, is_halt, a7_lo, a7_hi, a1_lo, a1_hi, a0_lo, a0_hi, result_lo, result_hi)` | cpu sends, syscall receives |
//! | `io_link` | permutation | `(cycle, stream, buffer_lo, buffer_hi, position, count)` | syscall sends, io receives |
//! | `io` | permutation | `(stream, offset, byte)` | io sends, the verifier receives the public input and output |
//! | `gmem` | permutation | `(space, address, value_lo, value_hi, tag)`, `tag` = segment index + 1 of the writer (0: initial image) | boundary receives each word's start value from the segment that left it and sends its end value; the verifier sends the initial image and receives the final memory |
//!
//! `gmem` and `io` are *execution* buses ([`EXECUTION_BUSES`]): their LogUp challenges come
//! from the global challenge alone, so they balance only over all segments of a run together
//! with the verifier's messages. Every other bus is proof-scoped
//! ([`crate::stark::BusScope::Proof`]) and balances inside each segment.

/// Instruction fetch.
pub const ROM_BUS: &str = "rom";
/// Offline memory checking of registers and RAM.
pub const MEMORY_BUS: &str = "mem";
/// 16-bit range checks.
pub const RANGE16_BUS: &str = "range16";
/// Two byte range checks at once.
pub const BYTE_PAIR_BUS: &str = "byte_pair";
/// Bytewise AND (and with it XOR and OR).
pub const BYTE_AND_BUS: &str = "byte_and";
/// Instructions executed by the ALU tables.
pub const ALU_BUS: &str = "alu";
/// ECALLs, from the cpu to the syscall table.
pub const SYSCALL_BUS: &str = "syscall";
/// Transfers of `read_input` and `commit`, from the syscall table to the io table.
pub const IO_LINK_BUS: &str = "io_link";
/// Bytes of the public input and output: `(stream, offset, byte)`.
pub const IO_BUS: &str = "io";

/// Cross-segment memory: `(space, address, value_lo, value_hi, tag)`.
pub const GLOBAL_MEMORY_BUS: &str = "gmem";

/// The buses that span the segments of a run; every other bus balances inside a segment.
pub const EXECUTION_BUSES: [&str; 2] = [GLOBAL_MEMORY_BUS, IO_BUS];

/// The `space` field of a `mem` message.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[repr(u8)]
pub enum MemorySpace {
    /// Writable RAM; the address is the word index (`byte address / 4`).
    Ram = 0,
    /// A register `x1..x31`; the address is its number.
    Register = 1,
    /// A word of the program text, read-only; the address is the word index. Stores always
    /// use [`MemorySpace::Ram`], so a store into the text cannot balance.
    Text = 2,
}

/// The `stream` field of an `io` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum IoStream {
    /// Bytes read by `read_input`.
    Input = 0,
    /// Bytes committed by `commit`.
    Output = 1,
}
