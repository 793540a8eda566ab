//! [`Counts`]: how often each lookup-table entry is used, gathered while filling the traces
//! (the multiplicity columns of the rom, range16 and bytes tables).

/// Lookup multiplicities.
#[derive(Clone, Debug)]
pub(crate) struct Counts {
    pub(crate) range16: Vec<u32>,
    /// Indexed `a + 256 b`.
    pub(crate) byte_pair: Vec<u32>,
    /// Indexed `a + 256 b`.
    pub(crate) byte_and: Vec<u32>,
    /// Indexed by ROM row.
    pub(crate) rom: Vec<u32>,
}

impl Counts {
    pub(crate) fn new(rom_rows: usize) -> Self {
        Self {
            range16: vec![0; 1 << 16],
            byte_pair: vec![0; 1 << 16],
            byte_and: vec![0; 1 << 16],
            rom: vec![0; rom_rows],
        }
    }

    /// A 16-bit range check of `value`.
    #[inline]
    pub(crate) fn range16(&mut self, value: u32) {
        assert!(value < 1 << 16, "range16 lookup of {value}");
        self.range16[value as usize] += 1;
    }

    /// A byte check of `a` and `b`.
    #[inline]
    pub(crate) fn byte_pair(&mut self, a: u32, b: u32) {
        assert!(a < 256 && b < 256, "byte pair lookup of ({a}, {b})");
        self.byte_pair[(a + 256 * b) as usize] += 1;
    }

    /// A `byte_and` lookup of `(a, b, a & b)`.
    #[inline]
    pub(crate) fn byte_and(&mut self, a: u32, b: u32) {
        assert!(a < 256 && b < 256, "byte and lookup of ({a}, {b})");
        self.byte_and[(a + 256 * b) as usize] += 1;
    }
}
