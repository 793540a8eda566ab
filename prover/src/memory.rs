//! Guest memory: a flat array of words over `[GUEST_MEMORY_START, memory_size_bytes)`.
//!
//! Each word carries a *touch tag*: `segment index + 1` of the last segment that read or
//! wrote it (0 if none has). The tags let a recorded segment say, for every word it touches,
//! which earlier segment touched it last — the timestamp the cross-segment memory argument
//! needs — without replaying earlier segments.

use crate::Program;
use crate::config::GUEST_MEMORY_START;

/// A word of memory: `[value, touch tag]` (an array so that the zeroed allocation is lazy).
pub(crate) type Cell = [u32; 2];

/// Guest memory.
#[derive(Debug, Clone)]
pub(crate) struct Memory {
    cells: Vec<Cell>,
    text_start: u32,
    text_len_bytes: u32,
}

impl Memory {
    /// The initial memory image of `program`: its segments, zeros elsewhere, no touches.
    pub(crate) fn new(program: &Program) -> Self {
        let words = ((program.memory_size_bytes() - GUEST_MEMORY_START) / 4) as usize;
        let mut cells = vec![[0u32; 2]; words];
        for segment in program.segments() {
            for (offset, &byte) in segment.data.iter().enumerate() {
                let address = segment.vaddr as usize + offset;
                let cell = &mut cells[(address - GUEST_MEMORY_START as usize) / 4];
                cell[0] |= u32::from(byte) << ((address % 4) * 8);
            }
        }
        let text = program.text_range();
        Self {
            cells,
            text_start: text.start,
            text_len_bytes: text.end - text.start,
        }
    }

    /// The cell holding `address`, or `None` if unmapped.
    #[inline(always)]
    pub(crate) fn cell_mut(&mut self, address: u32) -> Option<&mut Cell> {
        self.cells
            .get_mut((address.wrapping_sub(GUEST_MEMORY_START) >> 2) as usize)
    }

    /// Whether `address` is in the text segment.
    #[inline(always)]
    pub(crate) fn is_text(&self, address: u32) -> bool {
        address.wrapping_sub(self.text_start) < self.text_len_bytes
    }

    /// The word at `word_address & !3`, or `None` if unmapped.
    pub(crate) fn read_word(&self, word_address: u32) -> Option<u32> {
        self.cells
            .get((word_address.wrapping_sub(GUEST_MEMORY_START) >> 2) as usize)
            .map(|cell| cell[0])
    }

    /// The text range.
    pub(crate) fn text_range(&self) -> (u32, u32) {
        (self.text_start, self.text_start + self.text_len_bytes)
    }

    /// One past the last mapped address.
    pub(crate) fn end(&self) -> u64 {
        u64::from(GUEST_MEMORY_START) + 4 * self.cells.len() as u64
    }

    /// Every word touched so far: (word address, value, last touching segment).
    pub(crate) fn touched_words(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.cells
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell[1] != 0)
            .map(|(index, cell)| (GUEST_MEMORY_START + 4 * index as u32, cell[0], cell[1] - 1))
    }
}
