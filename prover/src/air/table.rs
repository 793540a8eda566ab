//! [`RvTable`]: every table of the zkVM as one AIR type, in a fixed order.

use std::sync::Arc;

use p3_air::{Air, BaseAir};
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use super::labels::{Cx, Labels};
use super::lookup_tables::{
    BYTES_PREPROCESSED_WIDTH, BYTES_WIDTH, MULTIPLICITY_WIDTH, bytes_trace, eval_bytes,
    eval_range16, eval_rom, range16_trace,
};
use super::{Val, bitwise, boundary, cpu, div, io, mul, program, public, syscall};

/// Which table: the position of its trace in [`super::SegmentWitness::traces`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKind {
    /// One row per cycle.
    Cpu,
    /// The program's instructions (preprocessed).
    Rom,
    /// `0..2^16` (preprocessed).
    Range16,
    /// Byte pairs and their AND (preprocessed).
    Bytes,
    /// XOR, OR, AND.
    Bitwise,
    /// Multiplications and shifts.
    Mul,
    /// Divisions and remainders.
    Div,
    /// One row per ECALL.
    Syscall,
    /// One row per word of a syscall transfer.
    Io,
    /// One row per register and word the segment opens and closes.
    Boundary,
}

impl TableKind {
    /// Every table, in trace order.
    pub const ALL: [Self; 10] = [
        Self::Cpu,
        Self::Rom,
        Self::Range16,
        Self::Bytes,
        Self::Bitwise,
        Self::Mul,
        Self::Div,
        Self::Syscall,
        Self::Io,
        Self::Boundary,
    ];

    /// The table's name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Rom => "rom",
            Self::Range16 => "range16",
            Self::Bytes => "bytes",
            Self::Bitwise => "bitwise",
            Self::Mul => "mul",
            Self::Div => "div",
            Self::Syscall => "syscall",
            Self::Io => "io",
            Self::Boundary => "boundary",
        }
    }

    /// Main trace width.
    #[must_use]
    pub fn width(self) -> usize {
        match self {
            Self::Cpu => cpu::WIDTH,
            Self::Rom | Self::Range16 => MULTIPLICITY_WIDTH,
            Self::Bytes => BYTES_WIDTH,
            Self::Bitwise => bitwise::WIDTH,
            Self::Mul => mul::WIDTH,
            Self::Div => div::WIDTH,
            Self::Syscall => syscall::WIDTH,
            Self::Io => io::WIDTH,
            Self::Boundary => boundary::WIDTH,
        }
    }
}

/// One table of the zkVM, an AIR over any builder that records bus interactions.
#[derive(Clone, Debug)]
pub struct RvTable {
    kind: TableKind,
    /// The ROM's preprocessed trace (rom table only).
    rom: Option<Arc<RowMajorMatrix<Val>>>,
}

impl RvTable {
    /// The tables of `program`, in [`TableKind::ALL`] order.
    #[must_use]
    pub fn all(program: &program::ProgramTables) -> Vec<Self> {
        let rom = Arc::new(program.rom_trace());
        TableKind::ALL
            .iter()
            .map(|&kind| Self {
                kind,
                rom: (kind == TableKind::Rom).then(|| Arc::clone(&rom)),
            })
            .collect()
    }

    /// Which table this is.
    #[must_use]
    pub fn kind(&self) -> TableKind {
        self.kind
    }

    /// Evaluates the constraints and interactions, naming each constraint to `labels`.
    pub(crate) fn eval_labeled<AB: InteractionBuilder<F = Val>, L: Labels>(
        &self,
        builder: &mut AB,
        labels: &mut L,
    ) {
        let mut cx = Cx::new(builder, labels);
        match self.kind {
            TableKind::Cpu => cpu::CpuTable.eval(&mut cx),
            TableKind::Rom => eval_rom(&mut cx),
            TableKind::Range16 => eval_range16(&mut cx),
            TableKind::Bytes => eval_bytes(&mut cx),
            TableKind::Bitwise => bitwise::BitwiseTable.eval(&mut cx),
            TableKind::Mul => mul::MulTable.eval(&mut cx),
            TableKind::Div => div::DivTable.eval(&mut cx),
            TableKind::Syscall => syscall::SyscallTable.eval(&mut cx),
            TableKind::Io => io::IoTable.eval(&mut cx),
            TableKind::Boundary => boundary::BoundaryTable.eval(&mut cx),
        }
    }
}

impl BaseAir<Val> for RvTable {
    fn width(&self) -> usize {
        self.kind.width()
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        match self.kind {
            TableKind::Rom => self.rom.as_deref().cloned(),
            TableKind::Range16 => Some(range16_trace()),
            TableKind::Bytes => Some(bytes_trace()),
            _ => None,
        }
    }

    fn preprocessed_width(&self) -> usize {
        match self.kind {
            TableKind::Rom => program::WIDTH,
            TableKind::Range16 => 1,
            TableKind::Bytes => BYTES_PREPROCESSED_WIDTH,
            _ => 0,
        }
    }

    fn num_public_values(&self) -> usize {
        public::NUM_PUBLIC_VALUES
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for RvTable {
    fn eval(&self, builder: &mut AB) {
        self.eval_labeled(builder, &mut ());
    }
}
