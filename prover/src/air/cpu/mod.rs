//! The cpu table: one row per cycle (padded with inactive rows to a power of two).
//!
//! A row fetches its instruction from the ROM (a lookup of the whole decoded tuple, so the
//! row's selectors are the ROM's), reads `b` (rs1) and `c` (rs2 or the immediate) and writes
//! `a` (rd) through the `mem` bus, computes additions, subtractions, comparisons, branches,
//! jumps, LUI/AUIPC and loads/stores itself, and sends bitwise, shift, multiply and divide
//! instructions to the ALU tables and ECALLs to the syscall table.
//!
//! - [`control`]: fetch, pc update, boundary rows, operands and the four `mem` ports;
//! - [`arith`]: the shared 32-bit adder (ADD, SUB, addresses, comparisons), branches,
//!   jumps, LUI, SLT, ALU and syscall dispatch;
//! - [`memory`]: loads and stores of bytes, halves and words;
//! - [`trace`]: filling a row from a recorded step.

pub(crate) mod arith;
pub(crate) mod control;
pub(crate) mod memory;
pub(crate) mod trace;

use p3_lookup::InteractionBuilder;

use super::Val;
use super::labels::{Cx, Labels};
pub(crate) use super::layout::cpu::*;
use super::program::{self, Flag};

/// Column of ROM field `field` (a `program::` index other than `program::PC`).
pub(crate) const fn rom(field: usize) -> usize {
    rom_column(field)
}

/// Column of the selector `flag`.
pub(crate) const fn flag(flag: Flag) -> usize {
    rom(program::FLAGS) + flag as usize
}

/// Timestamp of `slot` (0..4) in local cycle `cycle`.
pub(crate) const fn timestamp(cycle: u32, slot: u32) -> u32 {
    4 * cycle + slot + 1
}

/// The cpu table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpuTable;

impl CpuTable {
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        control::eval(cx);
        arith::eval(cx);
        memory::eval(cx);
    }
}
