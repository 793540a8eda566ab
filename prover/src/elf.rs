//! A small, strict ELF32 reader for RISC-V guest executables.
//!
//! Only what the zkVM needs is read: the ELF header and the program headers (`PT_LOAD`
//! segments). Section headers, symbols and relocations are ignored. Every offset and size is
//! checked before use, so any byte string gives either a [`ParsedElf`] or an [`ElfError`],
//! never a panic.

use crate::config::{ConfigError, GUEST_MEMORY_START, LoadConfig, MAX_PROGRAM_HEADERS};

/// Why an ELF file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// The load settings themselves are out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The file is larger than the configured `max_elf_size_bytes`.
    #[error("ELF file is {size_bytes} bytes, more than the limit of {max_elf_size_bytes} bytes")]
    FileTooLarge {
        /// Size of the file.
        size_bytes: usize,
        /// The configured limit.
        max_elf_size_bytes: usize,
    },
    /// The file does not start with the ELF magic bytes `\x7fELF`.
    #[error("not an ELF file (bad magic bytes)")]
    NotElf,
    /// The file is a 64-bit ELF (ELFCLASS64); guests must be ELF32.
    #[error("ELF64 file: guests must be 32-bit (ELFCLASS32) RV32IM executables")]
    Elf64,
    /// The ELF class byte is neither 32- nor 64-bit.
    #[error("invalid ELF class byte {class}")]
    InvalidClass {
        /// The `EI_CLASS` byte.
        class: u8,
    },
    /// The file is not little-endian (ELFDATA2LSB).
    #[error("ELF data encoding {encoding} is not little-endian")]
    NotLittleEndian {
        /// The `EI_DATA` byte.
        encoding: u8,
    },
    /// The ELF version is not 1 (EV_CURRENT).
    #[error("unsupported ELF version {version}")]
    UnsupportedVersion {
        /// The version found (identification byte or header word).
        version: u32,
    },
    /// The file is not an executable (ET_EXEC); relocatable objects, shared objects and core
    /// dumps are rejected.
    #[error("ELF type {elf_type} is not an executable (ET_EXEC = 2)")]
    NotExecutable {
        /// The `e_type` field.
        elf_type: u16,
    },
    /// The file is for another machine than RISC-V (EM_RISCV = 243).
    #[error("ELF machine {machine} is not RISC-V (243)")]
    WrongMachine {
        /// The `e_machine` field.
        machine: u16,
    },
    /// The RISC-V ELF flags ask for something the zkVM lacks: compressed instructions (RVC),
    /// a hardware floating-point ABI, or the RV32E register file.
    #[error("unsupported RISC-V ELF flags {flags:#x} (RVC, float ABI or RVE)")]
    UnsupportedFlags {
        /// The `e_flags` field.
        flags: u32,
    },
    /// The file ends before a structure it declares.
    #[error("ELF file truncated: {what} needs bytes up to {needed_end}, file has {size_bytes}")]
    Truncated {
        /// What could not be read.
        what: &'static str,
        /// The end offset that was needed.
        needed_end: u64,
        /// Size of the file.
        size_bytes: usize,
    },
    /// A header field has a value this reader does not accept.
    #[error("invalid ELF header: {reason}")]
    InvalidHeader {
        /// What is wrong.
        reason: &'static str,
    },
    /// More program headers than [`MAX_PROGRAM_HEADERS`].
    #[error("{count} program headers, more than the limit of {max}")]
    TooManyProgramHeaders {
        /// Number of program headers declared.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The file asks for dynamic linking (PT_DYNAMIC or PT_INTERP); guests are static.
    #[error("dynamically linked ELF: guests must be static executables")]
    DynamicallyLinked,
    /// A loadable segment is inconsistent (file size above memory size).
    #[error("segment {index} is invalid: {reason}")]
    InvalidSegment {
        /// Index of the program header.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A loadable segment lies (partly) outside guest memory
    /// `[GUEST_MEMORY_START, memory_size_bytes)`.
    #[error(
        "segment {index} at {vaddr:#010x} of {size_bytes} bytes is outside guest memory \
         [{start:#010x}, {end:#010x})"
    )]
    SegmentOutsideAddressSpace {
        /// Index of the program header.
        index: usize,
        /// Virtual address of the segment.
        vaddr: u32,
        /// Memory size of the segment.
        size_bytes: u32,
        /// First guest address.
        start: u32,
        /// End of guest memory (`memory_size_bytes`).
        end: u64,
    },
    /// Two loadable segments overlap in guest memory.
    #[error("segments at {first_vaddr:#010x} and {second_vaddr:#010x} overlap")]
    OverlappingSegments {
        /// Start of the lower segment.
        first_vaddr: u32,
        /// Start of the segment that overlaps it.
        second_vaddr: u32,
    },
    /// No executable (`PF_X`) loadable segment: there is no text.
    #[error("no executable segment (text)")]
    NoText,
    /// More than one executable loadable segment; the zkVM needs one contiguous text.
    #[error("{count} executable segments: the text must be a single segment")]
    MultipleTextSegments {
        /// Number of executable segments.
        count: usize,
    },
    /// The text segment does not start on a 4-byte boundary.
    #[error("text segment at {vaddr:#010x} is not 4-byte aligned")]
    MisalignedText {
        /// Start of the text segment.
        vaddr: u32,
    },
    /// The entry point is not a 4-byte aligned address inside the text segment.
    #[error("entry point {entry:#010x} is outside the text [{text_start:#010x}, {text_end:#010x})")]
    EntryOutsideText {
        /// The `e_entry` field.
        entry: u32,
        /// Start of the text.
        text_start: u32,
        /// End of the text.
        text_end: u64,
    },
}

/// One `PT_LOAD` segment, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSegment {
    /// Guest address of the first byte.
    pub vaddr: u32,
    /// Bytes from the file (`p_filesz` of them).
    pub data: Vec<u8>,
    /// Size in guest memory (`p_memsz`): bytes past `data` are zero (bss).
    pub size_bytes: u32,
    /// The segment is the text (executable).
    pub executable: bool,
}

impl LoadSegment {
    /// One past the last guest address of the segment.
    #[must_use]
    pub fn end(&self) -> u64 {
        u64::from(self.vaddr) + u64::from(self.size_bytes)
    }
}

/// The validated contents of a guest ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedElf {
    /// Entry point (inside the text, 4-byte aligned).
    pub(crate) entry: u32,
    /// Loadable segments sorted by address, non-overlapping, non-empty.
    pub(crate) segments: Vec<LoadSegment>,
    /// Index in `segments` of the single executable segment.
    pub(crate) text_index: usize,
}

const ELF_HEADER_BYTES: usize = 52;
const PROGRAM_HEADER_BYTES: usize = 32;
const ET_EXEC: u16 = 2;
const EM_RISCV: u16 = 243;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PF_X: u32 = 1;
/// EF_RISCV_RVC | EF_RISCV_FLOAT_ABI (2 bits) | EF_RISCV_RVE.
const UNSUPPORTED_FLAGS: u32 = 0x1 | 0x6 | 0x8;

fn read_u16(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

/// Parses and validates `bytes` as a guest executable under `config`.
///
/// # Errors
/// Any [`ElfError`]; the checks run in the order of the variants' documentation, so the first
/// problem found is the one reported.
pub(crate) fn parse(bytes: &[u8], config: &LoadConfig) -> Result<ParsedElf, ElfError> {
    config.validate()?;
    if bytes.len() > config.max_elf_size_bytes {
        return Err(ElfError::FileTooLarge {
            size_bytes: bytes.len(),
            max_elf_size_bytes: config.max_elf_size_bytes,
        });
    }
    if bytes.len() < 4 || bytes[..4] != *b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let truncated = |what, needed_end: u64| ElfError::Truncated {
        what,
        needed_end,
        size_bytes: bytes.len(),
    };
    if bytes.len() < 7 {
        return Err(truncated("ELF identification", 7));
    }
    match bytes[4] {
        1 => {}
        2 => return Err(ElfError::Elf64),
        class => return Err(ElfError::InvalidClass { class }),
    }
    if bytes[5] != 1 {
        return Err(ElfError::NotLittleEndian { encoding: bytes[5] });
    }
    if bytes[6] != 1 {
        return Err(ElfError::UnsupportedVersion {
            version: u32::from(bytes[6]),
        });
    }
    if bytes.len() < ELF_HEADER_BYTES {
        return Err(truncated("ELF header", ELF_HEADER_BYTES as u64));
    }
    let elf_type = read_u16(bytes, 16);
    if elf_type != ET_EXEC {
        return Err(ElfError::NotExecutable { elf_type });
    }
    let machine = read_u16(bytes, 18);
    if machine != EM_RISCV {
        return Err(ElfError::WrongMachine { machine });
    }
    let version = read_u32(bytes, 20);
    if version != 1 {
        return Err(ElfError::UnsupportedVersion { version });
    }
    let entry = read_u32(bytes, 24);
    let program_headers_offset = read_u32(bytes, 28) as usize;
    let flags = read_u32(bytes, 36);
    if flags & UNSUPPORTED_FLAGS != 0 {
        return Err(ElfError::UnsupportedFlags { flags });
    }
    if usize::from(read_u16(bytes, 40)) < ELF_HEADER_BYTES {
        return Err(ElfError::InvalidHeader {
            reason: "e_ehsize is below 52",
        });
    }
    let program_header_count = usize::from(read_u16(bytes, 44));
    if program_header_count > MAX_PROGRAM_HEADERS {
        return Err(ElfError::TooManyProgramHeaders {
            count: program_header_count,
            max: MAX_PROGRAM_HEADERS,
        });
    }
    if program_header_count == 0 {
        return Err(ElfError::NoText);
    }
    if usize::from(read_u16(bytes, 42)) != PROGRAM_HEADER_BYTES {
        return Err(ElfError::InvalidHeader {
            reason: "e_phentsize is not 32",
        });
    }
    let table_end =
        program_headers_offset as u64 + (program_header_count * PROGRAM_HEADER_BYTES) as u64;
    if table_end > bytes.len() as u64 {
        return Err(truncated("program header table", table_end));
    }

    let memory_end = u64::from(config.memory_size_bytes);
    let mut segments = Vec::new();
    for index in 0..program_header_count {
        let header = program_headers_offset + index * PROGRAM_HEADER_BYTES;
        let kind = read_u32(bytes, header);
        if kind == PT_DYNAMIC || kind == PT_INTERP {
            return Err(ElfError::DynamicallyLinked);
        }
        if kind != PT_LOAD {
            continue;
        }
        let offset = read_u32(bytes, header + 4);
        let vaddr = read_u32(bytes, header + 8);
        let file_size = read_u32(bytes, header + 16);
        let size_bytes = read_u32(bytes, header + 20);
        let segment_flags = read_u32(bytes, header + 24);
        if file_size > size_bytes {
            return Err(ElfError::InvalidSegment {
                index,
                reason: "file size (p_filesz) exceeds memory size (p_memsz)",
            });
        }
        let data_end = u64::from(offset) + u64::from(file_size);
        if data_end > bytes.len() as u64 {
            return Err(truncated("segment data", data_end));
        }
        if size_bytes == 0 {
            continue;
        }
        let end = u64::from(vaddr) + u64::from(size_bytes);
        if vaddr < GUEST_MEMORY_START || end > memory_end {
            return Err(ElfError::SegmentOutsideAddressSpace {
                index,
                vaddr,
                size_bytes,
                start: GUEST_MEMORY_START,
                end: memory_end,
            });
        }
        segments.push(LoadSegment {
            vaddr,
            data: bytes[offset as usize..data_end as usize].to_vec(),
            size_bytes,
            executable: segment_flags & PF_X != 0,
        });
    }

    segments.sort_by_key(|segment| segment.vaddr);
    for pair in segments.windows(2) {
        // The text is rounded up to whole instructions, so round it here too.
        let first_end = if pair[0].executable {
            pair[0].end().next_multiple_of(4)
        } else {
            pair[0].end()
        };
        if first_end > u64::from(pair[1].vaddr) {
            return Err(ElfError::OverlappingSegments {
                first_vaddr: pair[0].vaddr,
                second_vaddr: pair[1].vaddr,
            });
        }
    }
    let text_count = segments.iter().filter(|segment| segment.executable).count();
    let text_index = match text_count {
        0 => return Err(ElfError::NoText),
        1 => segments
            .iter()
            .position(|segment| segment.executable)
            .unwrap_or_default(),
        count => return Err(ElfError::MultipleTextSegments { count }),
    };
    let text = &segments[text_index];
    if !text.vaddr.is_multiple_of(4) {
        return Err(ElfError::MisalignedText { vaddr: text.vaddr });
    }
    let text_end = text.end().next_multiple_of(4);
    if text_end > memory_end {
        return Err(ElfError::SegmentOutsideAddressSpace {
            index: text_index,
            vaddr: text.vaddr,
            size_bytes: text.size_bytes,
            start: GUEST_MEMORY_START,
            end: memory_end,
        });
    }
    if entry < text.vaddr || u64::from(entry) >= text_end || !entry.is_multiple_of(4) {
        return Err(ElfError::EntryOutsideText {
            entry,
            text_start: text.vaddr,
            text_end,
        });
    }
    Ok(ParsedElf {
        entry,
        segments,
        text_index,
    })
}
