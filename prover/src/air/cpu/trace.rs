//! Filling a cpu row from one recorded step.

use p3_field::{Field, PrimeCharacteristicRing};

use super::*;
use crate::air::counts::Counts;
use crate::air::program::RomRow;

/// The memory access of a load or store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemoryPort {
    pub(crate) before: u32,
    pub(crate) after: u32,
    /// The word is in the text (read-only space).
    pub(crate) text: bool,
}

/// Everything a cpu row needs beyond its ROM row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    pub(crate) cycle: u32,
    pub(crate) pc: u32,
    pub(crate) next_pc: u32,
    pub(crate) b: u32,
    pub(crate) c: u32,
    /// rd's value after (the instruction's result even when rd is x0).
    pub(crate) a: u32,
    pub(crate) rd_prev: u32,
    /// `ts - prev_ts - 1` of ports A, B, C, D (0 when unused).
    pub(crate) deltas: [u32; 4],
    pub(crate) memory: Option<MemoryPort>,
    pub(crate) is_halt: bool,
}

/// The value an instruction executed by the cpu itself writes to rd (`None` for the ALU
/// tables, ECALL and instructions without a result).
pub(crate) fn cpu_result(row: &RomRow, pc: u32, b: u32, c: u32, loaded_word: u32) -> Option<u32> {
    let address = b.wrapping_add(row.imm);
    let shift = (address & 3) * 8;
    Some(match row.flag? {
        Flag::Add => b.wrapping_add(c),
        Flag::Sub => b.wrapping_sub(c),
        Flag::Slt => u32::from((b as i32) < (c as i32)),
        Flag::Sltu => u32::from(b < c),
        Flag::Lui => row.imm,
        Flag::Jal | Flag::Jalr => pc.wrapping_add(4),
        Flag::Lb => (loaded_word >> shift) as u8 as i8 as i32 as u32,
        Flag::Lbu => (loaded_word >> shift) & 0xff,
        Flag::Lh => (loaded_word >> shift) as u16 as i16 as i32 as u32,
        Flag::Lhu => (loaded_word >> shift) & 0xffff,
        Flag::Lw => loaded_word,
        _ => return None,
    })
}

fn set(row: &mut [Val], column: usize, value: u32) {
    row[column] = Val::from_u32(value);
}

fn set_limbs(row: &mut [Val], column: usize, value: u32) {
    row[column] = Val::from_u32(value & 0xffff);
    row[column + 1] = Val::from_u32(value >> 16);
}

/// Fills row `cycle` of the cpu trace and counts its lookups (the ROM lookup excepted).
#[allow(clippy::too_many_lines)]
pub(crate) fn fill_row(row: &mut [Val], counts: &mut Counts, rom_row: &RomRow, step: &Step) {
    row[IS_REAL] = Val::ONE;
    set(row, PC, step.pc);
    set(row, NEXT_PC, step.next_pc);
    set(row, CYCLE, step.cycle);
    let mut fields = [Val::ZERO; program::WIDTH];
    rom_row.write_fields(&mut fields);
    row[ROM..ROM + 33].copy_from_slice(&fields[1..]);
    set_limbs(row, B, step.b);
    set_limbs(row, C, step.c);
    set_limbs(row, A, step.a);
    set_limbs(row, RD_PREV, step.rd_prev);
    for (&delta, column) in step.deltas.iter().zip([DA, DB, DM, DD]) {
        set(row, column, delta & 0xffff);
        set(row, column + 1, delta >> 16);
        counts.range16(delta & 0xffff);
    }
    counts.byte_pair(step.deltas[0] >> 16, step.deltas[1] >> 16);
    counts.byte_pair(step.deltas[3] >> 16, step.deltas[2] >> 16);

    let flag = rom_row.flag;
    let is = |f: Flag| flag == Some(f);
    let (b, c) = (step.b, step.c);
    // The adder.
    let signed_compare = is(Flag::Slt) || is(Flag::Blt) || is(Flag::Bge);
    let unsigned_compare =
        is(Flag::Sltu) || is(Flag::Bltu) || is(Flag::Bgeu) || is(Flag::Beq) || is(Flag::Bne);
    let memory = step.memory.is_some();
    let address = memory || is(Flag::Jalr);
    let add = |x: u32, y: u32| {
        let carry0 = ((x & 0xffff) + (y & 0xffff)) >> 16;
        let carry1 = ((x >> 16) + (y >> 16) + carry0) >> 16;
        (carry0, carry1)
    };
    let mut h = 0u32;
    let carries = if is(Flag::Add) {
        add(b, c)
    } else if is(Flag::Sub) {
        add(step.a, c)
    } else if address {
        h = b.wrapping_add(rom_row.imm);
        add(b, rom_row.imm)
    } else if unsigned_compare {
        h = b.wrapping_sub(c);
        add(c, h)
    } else if signed_compare {
        h = (b ^ 0x8000_0000).wrapping_sub(c ^ 0x8000_0000);
        add(c ^ 0x8000_0000, h)
    } else {
        (0, 0)
    };
    set_limbs(row, H, h);
    set(row, CARRY, carries.0);
    set(row, CARRY + 1, carries.1);
    if address || unsigned_compare || signed_compare {
        counts.range16(h & 0xffff);
        counts.range16(h >> 16);
    }
    let (b_msb, c_msb) = if signed_compare {
        (b >> 31, c >> 31)
    } else {
        (0, 0)
    };
    set(row, B_MSB, b_msb);
    set(row, C_MSB, c_msb);
    let q = if address { (h & 0xffff) >> 2 } else { 0 };
    let slot1 = if signed_compare {
        2 * (b >> 16) - (b_msb << 16)
    } else {
        q
    };
    let slot2 = if signed_compare {
        2 * (c >> 16) - (c_msb << 16)
    } else if is(Flag::Jalr) {
        4 * (h >> 16)
    } else {
        0
    };
    counts.range16(slot1);
    counts.range16(slot2);
    if is(Flag::Beq) || is(Flag::Bne) {
        let sum = (h & 0xffff) + (h >> 16);
        set(row, EQ, u32::from(h == 0));
        if sum != 0 {
            row[EQ_INV] = Val::from_u32(sum).inverse();
        }
    }
    let lt = carries.1 == 1;
    let taken = match flag {
        Some(Flag::Beq) => h == 0,
        Some(Flag::Bne) => h != 0,
        Some(Flag::Blt | Flag::Bltu) => lt,
        Some(Flag::Bge | Flag::Bgeu) => !lt,
        _ => false,
    };
    set(row, TAKEN, u32::from(taken));
    if rom_row.rd_write() {
        counts.range16(step.a & 0xffff);
        counts.range16(step.a >> 16);
    }

    // Memory.
    set(row, Q, q);
    if address {
        set(row, OFF0, h & 1);
        set(row, OFF1, (h >> 1) & 1);
    }
    let (mem_before, mem_after, text) = step
        .memory
        .map_or((0, 0, false), |port| (port.before, port.after, port.text));
    set_limbs(row, MEM, mem_before);
    set_limbs(row, NEW, mem_after);
    set(row, RO, u32::from(text));
    let half = if address && (h >> 1) & 1 == 1 {
        mem_before >> 16
    } else {
        mem_before & 0xffff
    };
    let (hb0, hb1) = (half & 0xff, half >> 8);
    let byte = if address && h & 1 == 1 { hb1 } else { hb0 };
    set(row, HALF, half);
    set(row, HB, hb0);
    set(row, HB + 1, hb1);
    set(row, SB, byte);
    counts.byte_pair(hb0, hb1);
    let signed_part = match flag {
        Some(Flag::Lb) => byte,
        Some(Flag::Lh) => hb1,
        _ => 0,
    };
    let lmsb = signed_part >> 7;
    set(row, LMSB, lmsb);
    counts.byte_pair(2 * signed_part - 256 * lmsb, 0);
    let (cb0, cb1) = if is(Flag::Sb) {
        (c & 0xff, (c >> 8) & 0xff)
    } else {
        (0, 0)
    };
    set(row, CB, cb0);
    set(row, CB + 1, cb1);
    counts.byte_pair(cb0, cb1);
    set(row, IS_HALT, u32::from(step.is_halt));
}

/// Fills an inactive row.
pub(crate) fn fill_padding(row: &mut [Val], cycle: u32) {
    set(row, CYCLE, cycle);
    set(row, NEXT_PC, 4);
}
