//! A whole run: the messages the verifier adds to the execution buses once all segments are
//! in, and the checks on the public data that closes them.
//!
//! The verifier closes `gmem` with the *final memory*: one [`FinalWord`] per register
//! `x1..x31` and per word the run touched, with its final value and the tag of the last
//! segment that touched it. For each entry it sends the initial value (tag 0: `sp` = memory
//! size, other registers 0, words from the ELF image) and receives the final value
//! ([`run_external_messages`]). It closes `io` with every byte of the public input and output.
//! [`check_final_memory`] requires the list sorted without repeats, so each address has
//! exactly one initial producer; with the boundary table's `previous_tag < tag` check, the
//! only way for `gmem` to balance is that every segment's start value of every word is the
//! end value of the last earlier segment that touched it (docs/soundness.md).

use p3_field::PrimeCharacteristicRing;

use super::Val;
use super::boundary::io_messages;
use super::bus::{GLOBAL_MEMORY_BUS, IoStream, MemorySpace};
use super::program::ProgramTables;
use super::public::SegmentPublics;
use crate::Machine;
use crate::config::GUEST_MEMORY_START;

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

/// A register or word of the final memory: its value after the run and the `gmem` tag
/// (index + 1) of the last segment that touched it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FinalWord {
    /// Register, RAM or text.
    pub space: MemorySpace,
    /// Register number, or word index (`byte address / 4`).
    pub address: u32,
    /// Value after the run.
    pub value: u32,
    /// Index + 1 of the last segment that touched it.
    pub tag: u32,
}

/// Why public boundary data is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundaryError {
    /// Final-memory entries must be sorted by (space, address) without repeats.
    #[error("final-memory entry {index} is out of order or repeated")]
    Unsorted {
        /// Position in the list.
        index: usize,
    },
    /// A register entry that is not `x1..x31`, or a register missing.
    #[error("final-memory registers must be exactly x1..x31 (entry {index})")]
    Registers {
        /// Position in the list.
        index: usize,
    },
    /// A RAM word outside writable guest memory, or a text word outside the text.
    #[error("word {address:#010x} is not in its space {space:?}")]
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
    /// A final-memory tag that names no segment of the run.
    #[error("final-memory entry {index} names segment tag {tag} of a run of {segment_count}")]
    Tag {
        /// Position in the list.
        index: usize,
        /// The tag.
        tag: u32,
        /// Segments in the run.
        segment_count: u32,
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
    /// A first segment that does not start where a run starts.
    #[error("the first segment does not start from the initial state: {what}")]
    NotInitial {
        /// What differs.
        what: &'static str,
    },
}

/// The 16-bit limbs of a word.
pub(crate) fn limbs(value: u32) -> [Val; 2] {
    [Val::from_u32(value & 0xffff), Val::from_u32(value >> 16)]
}

/// The final memory of a halted machine: `x1..x31` (tagged with the last segment) and every
/// word it touched, sorted by (space, address).
///
/// # Panics
/// If the machine has not halted (a programmer error).
#[must_use]
pub fn final_memory(program: &ProgramTables, machine: &Machine<'_>) -> Vec<FinalWord> {
    assert!(machine.is_halted(), "the final memory of a run that ended");
    let last_tag = machine.segment_count();
    let registers = machine.registers();
    let mut words: Vec<FinalWord> = (1..32)
        .map(|index| FinalWord {
            space: MemorySpace::Register,
            address: index,
            value: registers[index as usize],
            tag: last_tag,
        })
        .collect();
    words.extend(
        machine
            .touched_words()
            .map(|(word_address, value, segment)| FinalWord {
                space: if program.is_text(word_address) {
                    MemorySpace::Text
                } else {
                    MemorySpace::Ram
                },
                address: word_address >> 2,
                value,
                tag: segment + 1,
            }),
    );
    words.sort_by_key(|word| (word.space, word.address));
    words
}

/// The value of a register or word before the run.
#[must_use]
pub fn initial_value(program: &ProgramTables, space: MemorySpace, address: u32) -> u32 {
    match space {
        MemorySpace::Register if address == 2 => program.memory_size_bytes(),
        MemorySpace::Register => 0,
        MemorySpace::Ram | MemorySpace::Text => program.initial_word(address.wrapping_mul(4)),
    }
}

/// Checks the final memory's shape: sorted without repeats, exactly the registers
/// `x1..x31`, RAM words in writable guest memory, text words in the text holding the
/// program's instructions, tags naming segments `1..=segment_count`.
///
/// # Errors
/// The first violation.
pub fn check_final_memory(
    program: &ProgramTables,
    words: &[FinalWord],
    segment_count: u32,
) -> Result<(), BoundaryError> {
    for (index, pair) in words.windows(2).enumerate() {
        if (pair[0].space, pair[0].address) >= (pair[1].space, pair[1].address) {
            return Err(BoundaryError::Unsorted { index: index + 1 });
        }
    }
    let registers: Vec<u32> = words
        .iter()
        .filter(|word| word.space == MemorySpace::Register)
        .map(|word| word.address)
        .collect();
    if registers != (1..32).collect::<Vec<u32>>() {
        return Err(BoundaryError::Registers { index: 0 });
    }
    for (index, word) in words.iter().enumerate() {
        if word.tag == 0 || word.tag > segment_count {
            return Err(BoundaryError::Tag {
                index,
                tag: word.tag,
                segment_count,
            });
        }
        let address = word.address.wrapping_mul(4);
        let mapped = word.address < 1 << 30
            && (GUEST_MEMORY_START..program.memory_size_bytes()).contains(&address);
        match word.space {
            MemorySpace::Register => {}
            MemorySpace::Ram if mapped && !program.is_text(address) => {}
            MemorySpace::Text if mapped && program.is_text(address) => {
                if program.text_word(address) != Some(word.value) {
                    return Err(BoundaryError::TextChanged { address });
                }
            }
            space => return Err(BoundaryError::Unmapped { address, space }),
        }
    }
    Ok(())
}

/// Checks that a first segment starts where a run starts: segment 0, at the entry, cycle 0,
/// no io consumed. (Its registers and words start from the initial image through `gmem`.)
///
/// # Errors
/// [`BoundaryError::NotInitial`] naming the first difference.
pub fn check_first_segment(
    program: &ProgramTables,
    publics: &SegmentPublics,
) -> Result<(), BoundaryError> {
    let fail = |what| Err(BoundaryError::NotInitial { what });
    if publics.segment_index != 0 {
        return fail("segment index is not 0");
    }
    if publics.start_pc != program.entry() {
        return fail("start pc is not the entry point");
    }
    if publics.start_cycle != 0 || publics.input_start != 0 || publics.output_start != 0 {
        return fail("start cycle or io positions are not 0");
    }
    Ok(())
}

/// The messages the verifier adds for a whole run: on `gmem` the initial value (tag 0) and
/// the final value of every entry of `final_memory`, on `io` every byte of the public
/// `input` and `output`. Check `final_memory` with [`check_final_memory`] first.
#[must_use]
pub fn run_external_messages(
    program: &ProgramTables,
    final_memory: &[FinalWord],
    input: &[u8],
    output: &[u8],
) -> Vec<ExternalMessage> {
    let mut messages = Vec::with_capacity(2 * final_memory.len() + input.len() + output.len());
    for word in final_memory {
        let space = Val::from_u8(word.space as u8);
        let address = Val::from_u32(word.address);
        let [initial_lo, initial_hi] = limbs(initial_value(program, word.space, word.address));
        let [final_lo, final_hi] = limbs(word.value);
        messages.push(ExternalMessage {
            bus: GLOBAL_MEMORY_BUS,
            fields: vec![space, address, initial_lo, initial_hi, Val::ZERO],
            multiplicity: Val::ONE,
        });
        messages.push(ExternalMessage {
            bus: GLOBAL_MEMORY_BUS,
            fields: vec![space, address, final_lo, final_hi, Val::from_u32(word.tag)],
            multiplicity: Val::NEG_ONE,
        });
    }
    messages.extend(io_messages(IoStream::Input, 0, input));
    messages.extend(io_messages(IoStream::Output, 0, output));
    messages
}
