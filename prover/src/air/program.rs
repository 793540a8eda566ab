//! [`ProgramTables`]: the program-dependent part of the AIRs — the ROM, one row per text word
//! with the instruction's decoded fields — built from a [`Program`].

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;

use super::Val;
pub(crate) use super::layout::rom::*;
use crate::Program;
use crate::decode::{Op, ZERO_SINK, decode};

/// The field element `p - 1`: the ROM target of a jump or branch whose real target is at or
/// above `2^30`. It is no pc (every pc is below `2^30`) and no field image of one, so taking such
/// a jump cannot continue at a valid pc.
pub const INVALID_TARGET: u32 = 0x7f00_0000;
/// The pc of ROM rows that hold no instruction (illegal words, padding): `p - 2`, which no
/// next-pc computation produces.
pub const FILLER_PC: u32 = 0x7eff_ffff;
/// Every pc of a provable program is below this (the text lies in guest memory, at most 1 GiB).
pub const PC_LIMIT: u32 = 1 << 30;

/// The one instruction family a ROM row selects (none for FENCE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Flag {
    Add,
    Sub,
    Slt,
    Sltu,
    Lui,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lbu,
    Lh,
    Lhu,
    Lw,
    Sb,
    Sh,
    Sw,
    Ecall,
    Alu,
}

/// Number of [`Flag`]s.
pub(crate) const NUM_FLAGS: usize = 23;

/// An instruction executed by an ALU table (the `op` field of the `alu` bus).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum AluOp {
    Xor = 1,
    Or = 2,
    And = 3,
    Sll = 4,
    Srl = 5,
    Sra = 6,
    Mul = 7,
    Mulh = 8,
    Mulhsu = 9,
    Mulhu = 10,
    Div = 11,
    Divu = 12,
    Rem = 13,
    Remu = 14,
}

/// One decoded instruction as the ROM holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RomRow {
    pub(crate) pc: u32,
    pub(crate) flag: Option<Flag>,
    pub(crate) alu_op: Option<AluOp>,
    /// Destination register (0 when nothing is written).
    pub(crate) rd: u8,
    /// Register read as operand `b` (0 when none: `b = 0`).
    pub(crate) rs1: u8,
    /// Register read as operand `c` (0 when none).
    pub(crate) rs2: u8,
    /// Immediate, absolute jump/branch target (or [`INVALID_TARGET`]), or LUI/AUIPC value.
    pub(crate) imm: u32,
    /// Operand `c` is the immediate.
    pub(crate) c_is_imm: bool,
}

impl RomRow {
    pub(crate) fn rs1_read(&self) -> bool {
        self.rs1 != 0
    }
    pub(crate) fn rs2_read(&self) -> bool {
        self.rs2 != 0
    }
    pub(crate) fn rd_write(&self) -> bool {
        self.rd != 0
    }

    /// The ROM tuple in field form, [`WIDTH`] values.
    pub(crate) fn write_fields(&self, out: &mut [Val]) {
        out[PC] = Val::from_u32(self.pc);
        out[ALU_OP] = Val::from_u8(self.alu_op.map_or(0, |op| op as u8));
        out[RD] = Val::from_u8(self.rd);
        out[RS1] = Val::from_u8(self.rs1);
        out[RS2] = Val::from_u8(self.rs2);
        out[IMM_LO] = Val::from_u32(self.imm & 0xffff);
        out[IMM_HI] = Val::from_u32(self.imm >> 16);
        out[RS1_READ] = Val::from_bool(self.rs1_read());
        out[RS2_READ] = Val::from_bool(self.rs2_read());
        out[RD_WRITE] = Val::from_bool(self.rd_write());
        out[C_IS_IMM] = Val::from_bool(self.c_is_imm);
        for value in &mut out[FLAGS..FLAGS + NUM_FLAGS] {
            *value = Val::ZERO;
        }
        if let Some(flag) = self.flag {
            out[FLAGS + flag as usize] = Val::ONE;
        }
    }
}

/// A jump or branch target as the ROM stores it.
fn target(address: u32) -> u32 {
    if address < PC_LIMIT {
        address
    } else {
        INVALID_TARGET
    }
}

/// The ROM row of the instruction `word` at `pc`, or `None` for a word that is not an RV32IM
/// instruction the zkVM executes (illegal words and EBREAK fault).
fn rom_row(word: u32, pc: u32) -> Option<RomRow> {
    let decoded = decode(word, pc);
    let rd = if decoded.rd == ZERO_SINK {
        0
    } else {
        decoded.rd
    };
    let rs1 = decoded.rs1;
    let rs2 = decoded.rs2;
    let imm = decoded.imm;
    let row = |flag, rd, rs1, rs2, imm, c_is_imm| RomRow {
        pc,
        flag: Some(flag),
        alu_op: None,
        rd,
        rs1,
        rs2,
        imm,
        c_is_imm,
    };
    let alu = |op, rs2, imm, c_is_imm| RomRow {
        alu_op: Some(op),
        ..row(Flag::Alu, rd, rs1, rs2, imm, c_is_imm)
    };
    Some(match decoded.op {
        Op::LoadConstant => row(Flag::Lui, rd, 0, 0, imm, false),
        Op::Jal => row(Flag::Jal, rd, 0, 0, target(imm), false),
        Op::Jalr => row(Flag::Jalr, rd, rs1, 0, imm, false),
        Op::Beq => row(Flag::Beq, 0, rs1, rs2, target(imm), false),
        Op::Bne => row(Flag::Bne, 0, rs1, rs2, target(imm), false),
        Op::Blt => row(Flag::Blt, 0, rs1, rs2, target(imm), false),
        Op::Bge => row(Flag::Bge, 0, rs1, rs2, target(imm), false),
        Op::Bltu => row(Flag::Bltu, 0, rs1, rs2, target(imm), false),
        Op::Bgeu => row(Flag::Bgeu, 0, rs1, rs2, target(imm), false),
        Op::Lb => row(Flag::Lb, rd, rs1, 0, imm, false),
        Op::Lh => row(Flag::Lh, rd, rs1, 0, imm, false),
        Op::Lw => row(Flag::Lw, rd, rs1, 0, imm, false),
        Op::Lbu => row(Flag::Lbu, rd, rs1, 0, imm, false),
        Op::Lhu => row(Flag::Lhu, rd, rs1, 0, imm, false),
        Op::Sb => row(Flag::Sb, 0, rs1, rs2, imm, false),
        Op::Sh => row(Flag::Sh, 0, rs1, rs2, imm, false),
        Op::Sw => row(Flag::Sw, 0, rs1, rs2, imm, false),
        Op::Addi => row(Flag::Add, rd, rs1, 0, imm, true),
        Op::Slti => row(Flag::Slt, rd, rs1, 0, imm, true),
        Op::Sltiu => row(Flag::Sltu, rd, rs1, 0, imm, true),
        Op::Xori => alu(AluOp::Xor, 0, imm, true),
        Op::Ori => alu(AluOp::Or, 0, imm, true),
        Op::Andi => alu(AluOp::And, 0, imm, true),
        Op::Slli => alu(AluOp::Sll, 0, imm, true),
        Op::Srli => alu(AluOp::Srl, 0, imm, true),
        Op::Srai => alu(AluOp::Sra, 0, imm, true),
        Op::Add => row(Flag::Add, rd, rs1, rs2, 0, false),
        Op::Sub => row(Flag::Sub, rd, rs1, rs2, 0, false),
        Op::Slt => row(Flag::Slt, rd, rs1, rs2, 0, false),
        Op::Sltu => row(Flag::Sltu, rd, rs1, rs2, 0, false),
        Op::Sll => alu(AluOp::Sll, rs2, 0, false),
        Op::Srl => alu(AluOp::Srl, rs2, 0, false),
        Op::Sra => alu(AluOp::Sra, rs2, 0, false),
        Op::Xor => alu(AluOp::Xor, rs2, 0, false),
        Op::Or => alu(AluOp::Or, rs2, 0, false),
        Op::And => alu(AluOp::And, rs2, 0, false),
        Op::Mul => alu(AluOp::Mul, rs2, 0, false),
        Op::Mulh => alu(AluOp::Mulh, rs2, 0, false),
        Op::Mulhsu => alu(AluOp::Mulhsu, rs2, 0, false),
        Op::Mulhu => alu(AluOp::Mulhu, rs2, 0, false),
        Op::Div => alu(AluOp::Div, rs2, 0, false),
        Op::Divu => alu(AluOp::Divu, rs2, 0, false),
        Op::Rem => alu(AluOp::Rem, rs2, 0, false),
        Op::Remu => alu(AluOp::Remu, rs2, 0, false),
        Op::Fence => RomRow {
            pc,
            flag: None,
            alu_op: None,
            rd: 0,
            rs1: 0,
            rs2: 0,
            imm: 0,
            c_is_imm: false,
        },
        // a7 (x17) is operand b, a1 (x11) operand c, a0 (x10) is read and rewritten through
        // the rd port.
        Op::Ecall => row(Flag::Ecall, 10, 17, 11, 0, false),
        Op::Ebreak | Op::Illegal => return None,
    })
}

/// The program-dependent tables: the ROM and what the boundary checks need.
#[derive(Clone, Debug)]
pub struct ProgramTables {
    text_start: u32,
    text_end: u32,
    memory_size_bytes: u32,
    entry: u32,
    /// One entry per text word.
    rows: Vec<Option<RomRow>>,
    text_words: Vec<u32>,
    /// The ELF's loadable segments: the initial memory image (zeros elsewhere).
    segments: Vec<crate::LoadSegment>,
}

impl ProgramTables {
    /// The tables of `program`.
    #[must_use]
    pub fn new(program: &Program) -> Self {
        let text = program.text_range();
        let rows = program
            .text_words()
            .iter()
            .zip((text.start..).step_by(4))
            .map(|(&word, pc)| rom_row(word, pc))
            .collect();
        Self {
            text_start: text.start,
            text_end: text.end,
            memory_size_bytes: program.memory_size_bytes(),
            entry: program.entry(),
            rows,
            text_words: program.text_words().to_vec(),
            segments: program.segments().to_vec(),
        }
    }

    /// The text range `[start, end)` in bytes.
    #[must_use]
    pub fn text_range(&self) -> std::ops::Range<u32> {
        self.text_start..self.text_end
    }

    /// End of guest memory in bytes.
    #[must_use]
    pub fn memory_size_bytes(&self) -> u32 {
        self.memory_size_bytes
    }

    /// The program's entry point.
    #[must_use]
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// The text word at `word_address` (a byte address), if inside the text.
    #[must_use]
    pub fn text_word(&self, word_address: u32) -> Option<u32> {
        let index = word_address.checked_sub(self.text_start)? as usize / 4;
        self.text_words.get(index).copied()
    }

    /// The word at `word_address` (a byte address) in the initial memory image.
    #[must_use]
    pub fn initial_word(&self, word_address: u32) -> u32 {
        let mut bytes = [0u8; 4];
        for (lane, byte) in bytes.iter_mut().enumerate() {
            let address = word_address.wrapping_add(lane as u32);
            for segment in &self.segments {
                if let Some(offset) = address.checked_sub(segment.vaddr)
                    && let Some(&value) = segment.data.get(offset as usize)
                {
                    *byte = value;
                }
            }
        }
        u32::from_le_bytes(bytes)
    }

    /// Whether the byte address is inside the text.
    #[must_use]
    pub fn is_text(&self, address: u32) -> bool {
        (self.text_start..self.text_end).contains(&address)
    }

    /// Index of the ROM row of `pc` (also the preprocessed row), if `pc` holds an instruction.
    pub(crate) fn rom_index(&self, pc: u32) -> Option<usize> {
        let index = (pc.checked_sub(self.text_start)? / 4) as usize;
        (pc.is_multiple_of(4) && self.rows.get(index)?.is_some()).then_some(index)
    }

    /// The ROM row at `index`.
    pub(crate) fn row(&self, index: usize) -> &RomRow {
        self.rows[index]
            .as_ref()
            .expect("rom_index only returns instruction rows")
    }

    /// Height of the rom table.
    pub(crate) fn rom_height(&self) -> usize {
        self.rows.len().next_power_of_two().max(super::MIN_HEIGHT)
    }

    /// The rom table's preprocessed trace: the ROM tuples, filler rows elsewhere.
    pub(crate) fn rom_trace(&self) -> RowMajorMatrix<Val> {
        let height = self.rom_height();
        let mut values = vec![Val::ZERO; height * WIDTH];
        for (index, chunk) in values.chunks_exact_mut(WIDTH).enumerate() {
            match self.rows.get(index).copied().flatten() {
                Some(row) => row.write_fields(chunk),
                None => chunk[PC] = Val::from_u32(FILLER_PC),
            }
        }
        RowMajorMatrix::new(values, WIDTH)
    }
}
