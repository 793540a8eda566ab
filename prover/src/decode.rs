//! RV32IM instruction decoding into a compact, pre-computed form.
//!
//! The text is decoded once when a [`Program`](crate::Program) is loaded: every word becomes a
//! [`Decoded`] with its operation, register slots and immediate (PC-relative immediates are
//! already turned into absolute targets). Words that are not RV32IM instructions decode to
//! [`Op::Illegal`] and fault only if executed, since text may hold data.

/// The register slot that receives writes to `x0`: the emulator's register file has a 33rd
/// slot so that writes need no "is it x0?" test and `x0` always reads as zero.
pub(crate) const ZERO_SINK: u8 = 32;

/// An RV32IM operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    /// LUI or AUIPC: `rd = imm` (AUIPC's `pc + imm` is computed at decode time).
    LoadConstant,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Fence,
    Ecall,
    Ebreak,
    Illegal,
}

/// A decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) op: Op,
    /// Destination slot: the `rd` field, or [`ZERO_SINK`] when `rd` is `x0`.
    pub(crate) rd: u8,
    pub(crate) rs1: u8,
    pub(crate) rs2: u8,
    /// Immediate; for JAL and branches the absolute target, for LUI/AUIPC the value to write,
    /// for shifts by immediate the shift amount.
    pub(crate) imm: u32,
}

const ILLEGAL: Decoded = Decoded {
    op: Op::Illegal,
    rd: ZERO_SINK,
    rs1: 0,
    rs2: 0,
    imm: 0,
};

/// Decodes `word` found at address `pc`.
pub(crate) fn decode(word: u32, pc: u32) -> Decoded {
    let opcode = word & 0x7f;
    let rd_field = ((word >> 7) & 31) as u8;
    let rd = if rd_field == 0 { ZERO_SINK } else { rd_field };
    let funct3 = (word >> 12) & 7;
    let rs1 = ((word >> 15) & 31) as u8;
    let rs2 = ((word >> 20) & 31) as u8;
    let funct7 = word >> 25;
    let i_imm = ((word as i32) >> 20) as u32;
    let s_imm = ((((word as i32) >> 25) << 5) as u32) | ((word >> 7) & 0x1f);
    let b_imm = ((((word as i32) >> 31) << 12) as u32)
        | ((word << 4) & 0x800)
        | ((word >> 20) & 0x7e0)
        | ((word >> 7) & 0x1e);
    let u_imm = word & 0xffff_f000;
    let j_imm = ((((word as i32) >> 31) << 20) as u32)
        | (word & 0x000f_f000)
        | ((word >> 9) & 0x800)
        | ((word >> 20) & 0x7fe);
    let make = |op, imm| Decoded {
        op,
        rd,
        rs1,
        rs2,
        imm,
    };

    match opcode {
        0b011_0111 => make(Op::LoadConstant, u_imm),
        0b001_0111 => make(Op::LoadConstant, pc.wrapping_add(u_imm)),
        0b110_1111 => make(Op::Jal, pc.wrapping_add(j_imm)),
        0b110_0111 if funct3 == 0 => make(Op::Jalr, i_imm),
        0b110_0011 => {
            let op = match funct3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return ILLEGAL,
            };
            make(op, pc.wrapping_add(b_imm))
        }
        0b000_0011 => {
            let op = match funct3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                4 => Op::Lbu,
                5 => Op::Lhu,
                _ => return ILLEGAL,
            };
            make(op, i_imm)
        }
        0b010_0011 => {
            let op = match funct3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                _ => return ILLEGAL,
            };
            make(op, s_imm)
        }
        0b001_0011 => match funct3 {
            0 => make(Op::Addi, i_imm),
            2 => make(Op::Slti, i_imm),
            3 => make(Op::Sltiu, i_imm),
            4 => make(Op::Xori, i_imm),
            6 => make(Op::Ori, i_imm),
            7 => make(Op::Andi, i_imm),
            1 if funct7 == 0 => make(Op::Slli, u32::from(rs2)),
            5 if funct7 == 0 => make(Op::Srli, u32::from(rs2)),
            5 if funct7 == 0b010_0000 => make(Op::Srai, u32::from(rs2)),
            _ => ILLEGAL,
        },
        0b011_0011 => {
            let op = match (funct7, funct3) {
                (0, 0) => Op::Add,
                (0b010_0000, 0) => Op::Sub,
                (0, 1) => Op::Sll,
                (0, 2) => Op::Slt,
                (0, 3) => Op::Sltu,
                (0, 4) => Op::Xor,
                (0, 5) => Op::Srl,
                (0b010_0000, 5) => Op::Sra,
                (0, 6) => Op::Or,
                (0, 7) => Op::And,
                (1, 0) => Op::Mul,
                (1, 1) => Op::Mulh,
                (1, 2) => Op::Mulhsu,
                (1, 3) => Op::Mulhu,
                (1, 4) => Op::Div,
                (1, 5) => Op::Divu,
                (1, 6) => Op::Rem,
                (1, 7) => Op::Remu,
                _ => return ILLEGAL,
            };
            make(op, 0)
        }
        // FENCE (including FENCE.TSO and PAUSE): the reserved fields are ignored, as the
        // specification requires. FENCE.I (funct3 = 1, Zifencei) is not RV32IM.
        0b000_1111 if funct3 == 0 => make(Op::Fence, 0),
        0b111_0011 => match word {
            0x0000_0073 => make(Op::Ecall, 0),
            0x0010_0073 => make(Op::Ebreak, 0),
            _ => ILLEGAL,
        },
        _ => ILLEGAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates_are_sign_extended_and_targets_absolute() {
        // jal x1, -4 at 0x1000
        let jal = decode(0xffdf_f0ef, 0x1000);
        assert_eq!((jal.op, jal.rd, jal.imm), (Op::Jal, 1, 0x0ffc));
        // beq x0, x0, -8 at 0x1000
        let beq = decode(0xfe00_0ce3, 0x1000);
        assert_eq!((beq.op, beq.imm), (Op::Beq, 0x0ff8));
        // sw x5, -1(x2)
        let sw = decode(0xfe51_2fa3, 0);
        assert_eq!((sw.op, sw.rs1, sw.rs2, sw.imm), (Op::Sw, 2, 5, u32::MAX));
        // addi x0, x0, 0 writes to the sink
        assert_eq!(decode(0x0000_0013, 0).rd, ZERO_SINK);
    }

    #[test]
    fn non_rv32im_encodings_are_illegal() {
        for word in [
            0x0000_0000,             // all zeros
            0xffff_ffff,             // all ones
            0x0000_0001,             // compressed (low bits != 11)
            0x3000_2073,             // csrrs
            0x1000_202f,             // lr.w (atomic)
            0x0000_100f,             // fence.i
            0x0200_1013,             // slli with shamt[5] set (RV64 only)
            0x0000_2003 | (3 << 12), // ld
        ] {
            assert_eq!(decode(word, 0).op, Op::Illegal, "{word:#010x}");
        }
    }
}
