//! The segment boundary and the other messages the verifier adds to the buses.
//!
//! Every register and word the segment's memory argument touches is opened by an external
//! send `(space, address, value_at_start, timestamp 0)` and closed by an external receive
//! `(space, address, value_at_end, last_timestamp)`; the bytes of the public input the
//! segment read and of the public output it committed are received on the `io` bus. These
//! lists are public: [`check_boundary`] checks their shape, [`check_initial_state`] that a
//! first segment starts from the program's initial state.

use p3_field::PrimeCharacteristicRing;

use super::Val;
use super::bus::{IO_BUS, IoStream, MEMORY_BUS, MemorySpace};
use super::program::ProgramTables;
use super::public::SegmentPublics;
use crate::config::GUEST_MEMORY_START;

/// A register or memory word at the segment boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BoundaryWord {
    /// Register, RAM or text.
    pub space: MemorySpace,
    /// Register number, or word index (`byte address / 4`).
    pub address: u32,
    /// Value when the segment starts.
    pub value_at_start: u32,
    /// Value when the segment ends.
    pub value_at_end: u32,
    /// Timestamp of the segment's last access (0 if none).
    pub last_timestamp: u32,
}

/// One message outside every table: `multiplicity` copies of `fields` on `bus` (positive:
/// sent, negative: received).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalMessage {
    /// Bus name.
    pub bus: &'static str,
    /// The message.
    pub fields: Vec<Val>,
    /// `1` or `-1`.
    pub multiplicity: Val,
}

/// Why public boundary data is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundaryError {
    /// Boundary entries must be sorted by (space, address) without repeats.
    #[error("boundary entry {index} is out of order or repeated")]
    Unsorted {
        /// Position in the list.
        index: usize,
    },
    /// A register entry that is not `x1..x31`, or a register missing.
    #[error("boundary registers must be exactly x1..x31 (entry {index})")]
    Registers {
        /// Position in the list.
        index: usize,
    },
    /// A RAM word outside writable guest memory, or a text word outside the text.
    #[error("boundary word {address:#010x} is not in its space {space:?}")]
    Unmapped {
        /// Byte address.
        address: u32,
        /// Its claimed space.
        space: MemorySpace,
    },
    /// A text word whose value is not the program's.
    #[error("text word {address:#010x} does not hold the program's instruction")]
    TextChanged {
        /// Byte address.
        address: u32,
    },
    /// The io positions exceed the public input or output.
    #[error(
        "io positions exceed the public input ({input_len} bytes) or output ({output_len} bytes)"
    )]
    IoRange {
        /// Public input length.
        input_len: usize,
        /// Public output length.
        output_len: usize,
    },
    /// A first segment that does not start from the program's initial state.
    #[error("the first segment does not start from the initial state: {what}")]
    NotInitial {
        /// What differs.
        what: &'static str,
    },
}

fn limbs(value: u32) -> [Val; 2] {
    [Val::from_u32(value & 0xffff), Val::from_u32(value >> 16)]
}

/// The messages the verifier adds for a segment: its boundary and the public input and
/// output bytes between its start and end positions. `input` and `output` are the run's
/// whole public input and output.
///
/// # Errors
/// [`BoundaryError::IoRange`] when the positions are outside `input` or `output`.
pub fn external_messages(
    publics: &SegmentPublics,
    boundary: &[BoundaryWord],
    input: &[u8],
    output: &[u8],
) -> Result<Vec<ExternalMessage>, BoundaryError> {
    let io_range = || BoundaryError::IoRange {
        input_len: input.len(),
        output_len: output.len(),
    };
    let input_bytes = input
        .get(publics.input_start as usize..publics.input_end as usize)
        .filter(|_| publics.input_len as usize == input.len())
        .ok_or_else(io_range)?;
    let output_bytes = output
        .get(publics.output_start as usize..publics.output_end as usize)
        .ok_or_else(io_range)?;
    let mut messages =
        Vec::with_capacity(2 * boundary.len() + input_bytes.len() + output_bytes.len());
    for word in boundary {
        let space = Val::from_u8(word.space as u8);
        let address = Val::from_u32(word.address);
        let [start_lo, start_hi] = limbs(word.value_at_start);
        let [end_lo, end_hi] = limbs(word.value_at_end);
        messages.push(ExternalMessage {
            bus: MEMORY_BUS,
            fields: vec![space, address, start_lo, start_hi, Val::ZERO],
            multiplicity: Val::ONE,
        });
        messages.push(ExternalMessage {
            bus: MEMORY_BUS,
            fields: vec![
                space,
                address,
                end_lo,
                end_hi,
                Val::from_u32(word.last_timestamp),
            ],
            multiplicity: Val::NEG_ONE,
        });
    }
    for (stream, start, bytes) in [
        (IoStream::Input, publics.input_start, input_bytes),
        (IoStream::Output, publics.output_start, output_bytes),
    ] {
        for (offset, &byte) in (start..).zip(bytes) {
            messages.push(ExternalMessage {
                bus: IO_BUS,
                fields: vec![
                    Val::from_u8(stream as u8),
                    Val::from_u32(offset),
                    Val::from_u8(byte),
                ],
                multiplicity: Val::NEG_ONE,
            });
        }
    }
    Ok(messages)
}

/// Checks the shape of a boundary list: sorted without repeats, exactly the registers
/// `x1..x31`, RAM words in writable guest memory, text words in the text holding the
/// program's instructions.
///
/// # Errors
/// The first violation.
pub fn check_boundary(
    program: &ProgramTables,
    boundary: &[BoundaryWord],
) -> Result<(), BoundaryError> {
    for (index, pair) in boundary.windows(2).enumerate() {
        if (pair[0].space, pair[0].address) >= (pair[1].space, pair[1].address) {
            return Err(BoundaryError::Unsorted { index: index + 1 });
        }
    }
    let registers: Vec<u32> = boundary
        .iter()
        .filter(|word| word.space == MemorySpace::Register)
        .map(|word| word.address)
        .collect();
    if registers != (1..32).collect::<Vec<u32>>() {
        return Err(BoundaryError::Registers { index: 0 });
    }
    for word in boundary {
        let address = word.address.wrapping_mul(4);
        let mapped = word.address < 1 << 30
            && (GUEST_MEMORY_START..program.memory_size_bytes()).contains(&address);
        match word.space {
            MemorySpace::Register => {}
            MemorySpace::Ram if mapped && !program.is_text(address) => {}
            MemorySpace::Text if mapped && program.is_text(address) => {
                let instruction = program.text_word(address);
                if instruction != Some(word.value_at_start)
                    || word.value_at_end != word.value_at_start
                {
                    return Err(BoundaryError::TextChanged { address });
                }
            }
            space => return Err(BoundaryError::Unmapped { address, space }),
        }
    }
    Ok(())
}

/// Checks that a segment starts where a run starts: at the entry, cycle 0, no io consumed,
/// `sp` at the end of memory and every other register 0, memory words as in the ELF image.
///
/// # Errors
/// [`BoundaryError::NotInitial`] naming the first difference.
pub fn check_initial_state(
    program: &ProgramTables,
    publics: &SegmentPublics,
    boundary: &[BoundaryWord],
) -> Result<(), BoundaryError> {
    let fail = |what| Err(BoundaryError::NotInitial { what });
    if publics.start_pc != program.entry() {
        return fail("start pc is not the entry point");
    }
    if publics.start_cycle != 0 || publics.input_start != 0 || publics.output_start != 0 {
        return fail("start cycle or io positions are not 0");
    }
    for word in boundary {
        let expected = match word.space {
            MemorySpace::Register if word.address == 2 => program.memory_size_bytes(),
            MemorySpace::Register => 0,
            MemorySpace::Ram | MemorySpace::Text => {
                program.initial_word(word.address.wrapping_mul(4))
            }
        };
        if word.value_at_start != expected {
            return fail("a register or word does not start with its initial value");
        }
    }
    Ok(())
}
