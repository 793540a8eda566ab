//! Column layouts of the tables: the index of every named column in a main trace row (the
//! rom layout is the ROM tuple, the preprocessed columns of the rom table). `NAME` of an
//! array is its first column; `WIDTH` is the number of columns.

use super::cols::columns;

/// The cpu table.
pub mod cpu {
    use super::columns;

    // Ports: A reads rs1 into B (slot 0), B reads rs2 into C (slot 1), C is the memory access
    // (slot 2), D rewrites rd from RD_PREV to A (slot 3). D* hold `ts - prev_ts - 1` in a 16-bit
    // and an 8-bit limb.
    columns!(
        IS_REAL, PC, NEXT_PC, CYCLE,
        // The ROM tuple without its pc (program::ALU_OP ..).
        ROM: 33,
        B: 2, C: 2, A: 2, RD_PREV: 2,
        DA: 2, DB: 2, DD: 2, DM: 2,
        // Adder output (address, jump target or b - c), its carries, operand signs, b == c.
        H: 2, CARRY: 2, B_MSB, C_MSB, EQ, EQ_INV, TAKEN,
        // Memory: H_lo = 4 Q + 2 OFF1 + OFF0; the accessed word before (MEM) and after (NEW);
        // its half selected by OFF1 with bytes HB; the byte selected by OFF0; the loaded value's
        // sign; the stored byte CB0 (CB1 its neighbour in c).
        Q, OFF0, OFF1, RO, MEM: 2, NEW: 2, HALF, HB: 2, SB, LMSB, CB: 2,
        IS_HALT,
    );

    /// The cpu column of ROM field `field` (a [`super::rom`] index other than `PC`).
    #[must_use]
    pub const fn rom_column(field: usize) -> usize {
        ROM + field - 1
    }
}

/// The bitwise table.
pub mod bitwise {
    use super::columns;

    columns!(XOR, OR, AND, B: 4, C: 4, N: 4);
}

/// The mul table.
pub mod mul {
    use super::columns;

    columns!(
        MUL, MULH, MULHSU, MULHU, SLL, SRL, SRA,
        X: 4, Y: 4, W: 8, K: 8, XN, YN, MX, MY,
        S: 3, G: 4, T, E, SZ, SINV, CL: 2, RES: 2,
    );
}

/// The div table.
pub mod div {
    use super::columns;

    columns!(
        DIV, DIVU, REM, REMU,
        X: 4, Y: 4, Z: 4, W: 4, K: 8,
        XN, YN, ZN, WN, MX, MY, MZ, MW, OVF,
        // |z|, |y| with the carries of their negation, and |y| - |z| - 1 with its carry.
        RABS: 2, CABS: 2, RHO: 2, GAM: 2, DD: 2, BETA, CZ, CZINV,
    );
}

/// The syscall table.
pub mod syscall {
    use super::columns;

    columns!(
        IS_REAL, CYCLE, HALT, READ, COMMIT, A0: 2, A1: 2, COUNT, IN_POS, OUT_POS,
        // a1 <= 4096, the borrow of a1 - 4097, min(a1, 4096), input runs short, count != 0.
        SMALL, BETA, CAP, SHORT, NZ, NZ_INV,
        // cycle - previous row's cycle - 1, in a 16-bit and an 8-bit limb.
        DC: 2,
    );
}

/// The io table.
pub mod io {
    use super::columns;

    columns!(
        IS_REAL, IS_FIRST, IS_LAST, CYCLE, STREAM,
        // The word index; on first rows buffer_lo = 4 WQ + start and WIDX = WQ + 2^14 BH.
        WIDX, WQ, BH,
        ST: 4, EN: 4,
        // Stream offset of the row's first active byte, bytes left including this row's.
        POS, REM,
        // Word in the read-only text space (commits only), bytes before and after, ts - prev - 1.
        RO, PB: 4, NB: 4, D: 2,
    );
}

/// The boundary table.
pub mod boundary {
    use super::columns;

    // One register or word the segment opens and closes: its start and end values (16-bit
    // limbs), the timestamp of its last access in the segment, and the tag of the segment
    // that left its start value (0: the initial image).
    columns!(IS_REAL, SPACE, ADDRESS, START: 2, END: 2, LAST_TS, PREV_TAG);
}

/// The ROM tuple: preprocessed columns of the rom table and fields of the `rom` bus.
pub mod rom {
    use super::columns;

    // The ROM tuple: the preprocessed columns of the rom table, in bus order.
    columns!(
        PC, ALU_OP, RD, RS1, RS2, IMM_LO, IMM_HI, RS1_READ, RS2_READ, RD_WRITE, C_IS_IMM,
        FLAGS: 23,
    );
}
