//! [`Program`]: a validated, loaded and pre-decoded guest executable.

use crate::config::LoadConfig;
use crate::decode::{Decoded, decode};
use crate::elf::{ElfError, LoadSegment, parse};
use crate::program_id::ProgramId;

/// A guest program ready to run: its loadable segments, entry point, text range and the text
/// pre-decoded for the emulator. Immutable; many [`Machine`](crate::Machine)s can run it.
#[derive(Debug, Clone)]
pub struct Program {
    id: ProgramId,
    entry: u32,
    memory_size_bytes: u32,
    segments: Vec<LoadSegment>,
    text_start: u32,
    /// Text length in bytes, a multiple of 4.
    text_len_bytes: u32,
    /// One entry per text word.
    pub(crate) code: Vec<Decoded>,
    /// The raw instruction words of the text.
    pub(crate) code_words: Vec<u32>,
}

impl Program {
    /// Loads `elf_bytes` with the default [`LoadConfig`].
    ///
    /// # Errors
    /// The [`ElfError`] describing why the file is not an acceptable guest.
    pub fn from_elf(elf_bytes: &[u8]) -> Result<Self, ElfError> {
        Self::load(elf_bytes, &LoadConfig::default())
    }

    /// Loads `elf_bytes` under `config` (ELF size limit and guest memory size).
    ///
    /// # Errors
    /// The [`ElfError`] describing why the file is not an acceptable guest.
    pub fn load(elf_bytes: &[u8], config: &LoadConfig) -> Result<Self, ElfError> {
        let parsed = parse(elf_bytes, config)?;
        let text = &parsed.segments[parsed.text_index];
        let text_start = text.vaddr;
        // The parser checked that the rounded-up end fits below memory_size_bytes.
        let text_len_bytes = text.size_bytes.next_multiple_of(4);
        let mut code_words = vec![0u32; (text_len_bytes / 4) as usize];
        for (word, bytes) in code_words.iter_mut().zip(text.data.chunks(4)) {
            let mut padded = [0u8; 4];
            padded[..bytes.len()].copy_from_slice(bytes);
            *word = u32::from_le_bytes(padded);
        }
        let code = code_words
            .iter()
            .zip((text_start..).step_by(4))
            .map(|(&word, pc)| decode(word, pc))
            .collect();
        Ok(Self {
            id: ProgramId::of_elf_bytes(elf_bytes),
            entry: parsed.entry,
            memory_size_bytes: config.memory_size_bytes,
            segments: parsed.segments,
            text_start,
            text_len_bytes,
            code,
            code_words,
        })
    }

    /// The program's content hash.
    #[must_use]
    pub fn id(&self) -> ProgramId {
        self.id
    }

    /// The entry point.
    #[must_use]
    pub fn entry(&self) -> u32 {
        self.entry
    }

    /// End of guest memory this program was loaded for (the initial stack pointer).
    #[must_use]
    pub fn memory_size_bytes(&self) -> u32 {
        self.memory_size_bytes
    }

    /// The loadable segments, sorted by address; together with zeros elsewhere they are the
    /// initial memory image.
    #[must_use]
    pub fn segments(&self) -> &[LoadSegment] {
        &self.segments
    }

    /// The text range `[start, end)`; stores into it fault.
    #[must_use]
    pub fn text_range(&self) -> std::ops::Range<u32> {
        self.text_start..self.text_start + self.text_len_bytes
    }

    /// The instruction words of the text, in address order.
    #[must_use]
    pub fn text_words(&self) -> &[u32] {
        &self.code_words
    }
}
