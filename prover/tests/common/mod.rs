//! Test helpers: a tiny RV32IM encoder and ELF32 writer, so tests need no RISC-V toolchain.
#![allow(dead_code, unreachable_pub)]

pub mod reference;

use zisk_prover::{ExecConfig, ExecError, LoadConfig, Machine, Program};

/// Where test programs put their text.
pub const TEXT_START: u32 = 0x0001_0000;
/// Where test programs put their data segment.
pub const DATA_START: u32 = 0x0002_0000;
/// Size of the test data segment.
pub const DATA_BYTES: u32 = 0x1000;
/// Guest memory size for tests: small, so machines are cheap.
pub const TEST_MEMORY_BYTES: u32 = 1 << 20;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// One PT_LOAD segment to write.
#[derive(Clone, Debug)]
pub struct SegmentSpec {
    pub vaddr: u32,
    pub data: Vec<u8>,
    pub size_bytes: u32,
    pub flags: u32,
}

/// Writes a little-endian ELF32 RISC-V executable with the given segments.
pub fn build_elf(entry: u32, segments: &[SegmentSpec]) -> Vec<u8> {
    build_elf_with(entry, segments, 243, 1, 2)
}

/// Like [`build_elf`], with the machine, class and type fields chosen.
pub fn build_elf_with(
    entry: u32,
    segments: &[SegmentSpec],
    machine: u16,
    class: u8,
    elf_type: u16,
) -> Vec<u8> {
    let header_bytes = 52usize;
    let table_bytes = 32 * segments.len();
    let mut offset = (header_bytes + table_bytes).next_multiple_of(16);
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF");
    out.extend_from_slice(&[class, 1, 1, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&elf_type.to_le_bytes());
    out.extend_from_slice(&machine.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // e_version
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&52u32.to_le_bytes()); // e_phoff
    out.extend_from_slice(&0u32.to_le_bytes()); // e_shoff
    out.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    out.extend_from_slice(&52u16.to_le_bytes()); // e_ehsize
    out.extend_from_slice(&32u16.to_le_bytes()); // e_phentsize
    out.extend_from_slice(&(segments.len() as u16).to_le_bytes());
    out.extend_from_slice(&40u16.to_le_bytes()); // e_shentsize
    out.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    out.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    assert_eq!(out.len(), header_bytes);
    let mut offsets = Vec::new();
    for segment in segments {
        offsets.push(offset);
        offset = (offset + segment.data.len()).next_multiple_of(16);
    }
    for (segment, &data_offset) in segments.iter().zip(&offsets) {
        for word in [
            1, // PT_LOAD
            data_offset as u32,
            segment.vaddr,
            segment.vaddr,
            segment.data.len() as u32,
            segment.size_bytes,
            segment.flags,
            4,
        ] {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }
    for (segment, &data_offset) in segments.iter().zip(&offsets) {
        out.resize(data_offset, 0);
        out.extend_from_slice(&segment.data);
    }
    out
}

/// An ELF with `words` as text at [`TEXT_START`] and a zeroed RW data segment at
/// [`DATA_START`] initialised with `data`.
pub fn program_elf(words: &[u32], data: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    build_elf(
        TEXT_START,
        &[
            SegmentSpec {
                vaddr: TEXT_START,
                size_bytes: text.len() as u32,
                data: text,
                flags: PF_R | PF_X,
            },
            SegmentSpec {
                vaddr: DATA_START,
                data: data.to_vec(),
                size_bytes: DATA_BYTES,
                flags: PF_R | PF_W,
            },
        ],
    )
}

pub fn test_load_config() -> LoadConfig {
    LoadConfig {
        memory_size_bytes: TEST_MEMORY_BYTES,
        ..LoadConfig::default()
    }
}

pub fn load(words: &[u32], data: &[u8]) -> Program {
    Program::load(&program_elf(words, data), &test_load_config()).expect("test program loads")
}

/// Runs `words` (which must halt) and returns the machine after the run, or its error.
pub fn run_words(words: &[u32], data: &[u8], input: &[u8]) -> Result<Machine<'static>, ExecError> {
    let program: &'static Program = Box::leak(Box::new(load(words, data)));
    let config = ExecConfig {
        max_cycles: 100_000,
        segment_cycles_log2: 4,
        ..ExecConfig::default()
    };
    let mut machine = Machine::new(program, &config, input)?;
    machine.run_to_end()?;
    Ok(machine)
}

// ---------------------------------------------------------------------------------------
// Encoder.

pub const ZERO: u32 = 0;
pub const RA: u32 = 1;
pub const SP: u32 = 2;
pub const T0: u32 = 5;
pub const T1: u32 = 6;
pub const T2: u32 = 7;
pub const A0: u32 = 10;
pub const A1: u32 = 11;
pub const A7: u32 = 17;

fn check_register(register: u32) {
    assert!(register < 32, "register x{register}");
}

pub fn r_type(funct7: u32, rs2: u32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
    [rs2, rs1, rd].into_iter().for_each(check_register);
    (funct7 << 25) | (rs2 << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode
}

pub fn i_type(imm: i32, rs1: u32, funct3: u32, rd: u32, opcode: u32) -> u32 {
    assert!((-2048..2048).contains(&imm), "I immediate {imm}");
    ((imm as u32 & 0xfff) << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | opcode
}

pub fn s_type(imm: i32, rs2: u32, rs1: u32, funct3: u32, opcode: u32) -> u32 {
    assert!((-2048..2048).contains(&imm), "S immediate {imm}");
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | ((imm & 0x1f) << 7)
        | opcode
}

pub fn b_type(offset: i32, rs2: u32, rs1: u32, funct3: u32) -> u32 {
    assert!(
        (-4096..4096).contains(&offset) && offset % 2 == 0,
        "B offset {offset}"
    );
    let imm = offset as u32;
    (((imm >> 12) & 1) << 31)
        | (((imm >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (funct3 << 12)
        | (((imm >> 1) & 0xf) << 8)
        | (((imm >> 11) & 1) << 7)
        | 0b110_0011
}

pub fn j_type(offset: i32, rd: u32) -> u32 {
    assert!(
        (-(1 << 20)..(1 << 20)).contains(&offset) && offset % 2 == 0,
        "J offset {offset}"
    );
    let imm = offset as u32;
    (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3ff) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0b110_1111
}

/// (funct7, funct3) of a register-register instruction.
pub fn r_fields(name: &str) -> (u32, u32) {
    match name {
        "add" => (0, 0),
        "sub" => (0x20, 0),
        "sll" => (0, 1),
        "slt" => (0, 2),
        "sltu" => (0, 3),
        "xor" => (0, 4),
        "srl" => (0, 5),
        "sra" => (0x20, 5),
        "or" => (0, 6),
        "and" => (0, 7),
        "mul" => (1, 0),
        "mulh" => (1, 1),
        "mulhsu" => (1, 2),
        "mulhu" => (1, 3),
        "div" => (1, 4),
        "divu" => (1, 5),
        "rem" => (1, 6),
        "remu" => (1, 7),
        _ => panic!("unknown R instruction {name}"),
    }
}

pub const R_NAMES: [&str; 18] = [
    "add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "mul", "mulh", "mulhsu",
    "mulhu", "div", "divu", "rem", "remu",
];

pub fn rr(name: &str, rd: u32, rs1: u32, rs2: u32) -> u32 {
    let (funct7, funct3) = r_fields(name);
    r_type(funct7, rs2, rs1, funct3, rd, 0b011_0011)
}

/// Register-immediate ALU instructions, loads and JALR.
pub fn ri(name: &str, rd: u32, rs1: u32, imm: i32) -> u32 {
    let (funct3, opcode) = match name {
        "addi" => (0, 0b001_0011),
        "slti" => (2, 0b001_0011),
        "sltiu" => (3, 0b001_0011),
        "xori" => (4, 0b001_0011),
        "ori" => (6, 0b001_0011),
        "andi" => (7, 0b001_0011),
        "slli" => return r_type(0, imm as u32, rs1, 1, rd, 0b001_0011),
        "srli" => return r_type(0, imm as u32, rs1, 5, rd, 0b001_0011),
        "srai" => return r_type(0x20, imm as u32, rs1, 5, rd, 0b001_0011),
        "lb" => (0, 0b000_0011),
        "lh" => (1, 0b000_0011),
        "lw" => (2, 0b000_0011),
        "lbu" => (4, 0b000_0011),
        "lhu" => (5, 0b000_0011),
        "jalr" => (0, 0b110_0111),
        _ => panic!("unknown I instruction {name}"),
    };
    i_type(imm, rs1, funct3, rd, opcode)
}

pub fn store(name: &str, rs2: u32, rs1: u32, imm: i32) -> u32 {
    let funct3 = match name {
        "sb" => 0,
        "sh" => 1,
        "sw" => 2,
        _ => panic!("unknown store {name}"),
    };
    s_type(imm, rs2, rs1, funct3, 0b010_0011)
}

pub fn branch(name: &str, rs1: u32, rs2: u32, offset: i32) -> u32 {
    let funct3 = match name {
        "beq" => 0,
        "bne" => 1,
        "blt" => 4,
        "bge" => 5,
        "bltu" => 6,
        "bgeu" => 7,
        _ => panic!("unknown branch {name}"),
    };
    b_type(offset, rs2, rs1, funct3)
}

pub fn lui(rd: u32, upper: u32) -> u32 {
    (upper << 12) | (rd << 7) | 0b011_0111
}

pub fn auipc(rd: u32, upper: u32) -> u32 {
    (upper << 12) | (rd << 7) | 0b001_0111
}

pub fn jal(rd: u32, offset: i32) -> u32 {
    j_type(offset, rd)
}

pub const ECALL: u32 = 0x0000_0073;
pub const EBREAK: u32 = 0x0010_0073;
pub const FENCE: u32 = 0x0ff0_000f;
pub const NOP: u32 = 0x0000_0013;

/// Loads `value` into `rd` (LUI + ADDI).
pub fn li(rd: u32, value: u32) -> [u32; 2] {
    let low = ((value & 0xfff) as i32) << 20 >> 20;
    let upper = value.wrapping_sub(low as u32) >> 12;
    [lui(rd, upper), ri("addi", rd, rd, low)]
}

/// `halt(0)`.
pub fn halt() -> [u32; 3] {
    [ri("addi", A7, ZERO, 0), ri("addi", A0, ZERO, 0), ECALL]
}

/// A program builder.
#[derive(Default, Clone)]
pub struct Asm {
    pub words: Vec<u32>,
}

impl Asm {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn push(&mut self, word: u32) -> &mut Self {
        self.words.push(word);
        self
    }
    pub fn extend(&mut self, words: impl IntoIterator<Item = u32>) -> &mut Self {
        self.words.extend(words);
        self
    }
    pub fn li(&mut self, rd: u32, value: u32) -> &mut Self {
        self.extend(li(rd, value))
    }
    pub fn halt(&mut self) -> &mut Self {
        self.extend(halt())
    }
    /// Address of the next instruction.
    pub fn here(&self) -> u32 {
        TEXT_START + 4 * self.words.len() as u32
    }
}
