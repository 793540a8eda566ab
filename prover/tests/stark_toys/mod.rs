//! Toy tables for the segment-STARK tests: small AIRs that exercise every framework feature
//! (public values, preprocessed columns, global buses between tables of different heights,
//! local lookups, an enum of tables) without any RISC-V.

#![allow(dead_code, unreachable_pub)]

use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use zisk_prover::stark::Val;

/// The bus between [`Sender`] and [`Range8`]: one field, a byte.
pub const RANGE_BUS: &str = "range8";

/// Public values `[a, b, out]`: the trace starts at `(a, b)`, steps `(x, y) -> (y, x + y)`
/// and ends with `y = out`.
#[derive(Clone, Copy, Debug)]
pub struct Fibonacci;

impl BaseAir<Val> for Fibonacci {
    fn width(&self) -> usize {
        2
    }

    fn num_public_values(&self) -> usize {
        3
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Fibonacci {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (x, y) = (main.current(0).unwrap(), main.current(1).unwrap());
        let (x_next, y_next) = (main.next(0).unwrap(), main.next(1).unwrap());
        let public = builder.public_values();
        let (a, b, out) = (public[0], public[1], public[2]);
        builder.when_first_row().assert_eq(x, a);
        builder.when_first_row().assert_eq(y, b);
        builder.when_transition().assert_eq(x_next, y);
        builder.when_transition().assert_eq(y_next, x + y);
        builder.when_last_row().assert_eq(y, out);
    }
}

/// `rows` rows of Fibonacci from `(a, b)`, with the public values it proves.
pub fn fibonacci_trace(rows: usize, a: u32, b: u32) -> (RowMajorMatrix<Val>, Vec<Val>) {
    let (mut x, mut y) = (Val::from_u32(a), Val::from_u32(b));
    let mut values = Vec::with_capacity(rows * 2);
    for _ in 0..rows {
        values.extend([x, y]);
        (x, y) = (y, x + y);
    }
    let out = values[values.len() - 1];
    (
        RowMajorMatrix::new(values, 2),
        vec![Val::from_u32(a), Val::from_u32(b), out],
    )
}

/// Columns `(value, is_real)`: sends `value` on [`RANGE_BUS`] when `is_real`.
#[derive(Clone, Copy, Debug)]
pub struct Sender;

impl BaseAir<Val> for Sender {
    fn width(&self) -> usize {
        2
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Sender {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (value, is_real) = (main.current(0).unwrap(), main.current(1).unwrap());
        builder.assert_bool(is_real);
        builder.push_interaction(RANGE_BUS, [value], Count::bounded(is_real.into(), 1));
    }
}

/// `values` followed by inactive rows up to `height`.
pub fn sender_trace(values: &[u32], height: usize) -> RowMajorMatrix<Val> {
    let mut cells = Vec::with_capacity(height * 2);
    for row in 0..height {
        match values.get(row) {
            Some(&v) => cells.extend([Val::from_u32(v), Val::ONE]),
            None => cells.extend([Val::ZERO, Val::ZERO]),
        }
    }
    RowMajorMatrix::new(cells, 2)
}

/// Preprocessed column `0..256` (offset by `shift`), main column the multiplicity with
/// which each value is received on [`RANGE_BUS`].
#[derive(Clone, Copy, Debug)]
pub struct Range8 {
    /// Added to every preprocessed value (0 for the honest table; other values give a
    /// different verifying key).
    pub shift: u32,
}

impl BaseAir<Val> for Range8 {
    fn width(&self) -> usize {
        1
    }

    fn preprocessed_width(&self) -> usize {
        1
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        Some(RowMajorMatrix::new(
            (0..256u32).map(|v| Val::from_u32(v + self.shift)).collect(),
            1,
        ))
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Range8 {
    fn eval(&self, builder: &mut AB) {
        let value = builder.preprocessed().current(0).unwrap();
        let multiplicity = builder.main().current(0).unwrap();
        builder.push_interaction(RANGE_BUS, [value], Count::provided(-multiplicity.into()));
    }
}

/// The multiplicities [`Range8`] needs to receive `values`.
pub fn range_trace(values: &[u32]) -> RowMajorMatrix<Val> {
    let mut counts = vec![Val::ZERO; 256];
    for &v in values {
        counts[v as usize] += Val::ONE;
    }
    RowMajorMatrix::new(counts, 1)
}

/// Columns `(a, b)`: a table-local lookup says the column multisets are equal.
#[derive(Clone, Copy, Debug)]
pub struct Shuffle;

impl BaseAir<Val> for Shuffle {
    fn width(&self) -> usize {
        2
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Shuffle {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let (a, b) = (main.current(0).unwrap(), main.current(1).unwrap());
        builder.push_local_interaction([
            (vec![a.into()], Count::from(1)),
            (vec![b.into()], Count::from(-1)),
        ]);
    }
}

/// Column `b` is column `a` reversed.
pub fn shuffle_trace(height: usize) -> RowMajorMatrix<Val> {
    let mut cells = Vec::with_capacity(height * 2);
    for row in 0..height {
        cells.extend([
            Val::from_usize(row * 7),
            Val::from_usize((height - 1 - row) * 7),
        ]);
    }
    RowMajorMatrix::new(cells, 2)
}

/// `width` columns; row `r + 1` is `x_i' = x_i * x_{i+1} + i` (degree-3 constraints under
/// the transition selector). The last column is free and sent on [`RANGE_BUS`] as a byte.
#[derive(Clone, Copy, Debug)]
pub struct Wide {
    /// Total columns (the last is the byte column).
    pub width: usize,
}

impl BaseAir<Val> for Wide {
    fn width(&self) -> usize {
        self.width
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Wide {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let data = self.width - 1;
        let (current, next) = (main.current_slice(), main.next_slice());
        for i in 0..data {
            let expected =
                current[i].into() * current[(i + 1) % data].into() + AB::Expr::from_usize(i);
            builder.when_transition().assert_eq(next[i], expected);
        }
        builder.push_interaction(RANGE_BUS, [current[data]], 1);
    }
}

/// `rows` rows of [`Wide`] from a fixed seed, and the bytes it sends.
pub fn wide_trace(width: usize, rows: usize) -> (RowMajorMatrix<Val>, Vec<u32>) {
    let data = width - 1;
    let mut cells = Vec::with_capacity(rows * width);
    let mut row: Vec<Val> = (0..data).map(|i| Val::from_usize(i * 31 + 7)).collect();
    let mut bytes = Vec::with_capacity(rows);
    let mut state = 0x2545_f491_u32;
    for _ in 0..rows {
        cells.extend_from_slice(&row);
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let byte = state & 0xff;
        cells.push(Val::from_u32(byte));
        bytes.push(byte);
        row = (0..data)
            .map(|i| row[i] * row[(i + 1) % data] + Val::from_usize(i))
            .collect();
    }
    (RowMajorMatrix::new(cells, width), bytes)
}

/// The toy tables as one enum, the way the RV32IM tables are passed.
#[derive(Clone, Copy, Debug)]
pub enum Toy {
    /// See [`Fibonacci`].
    Fibonacci(Fibonacci),
    /// See [`Sender`].
    Sender(Sender),
    /// See [`Range8`].
    Range8(Range8),
    /// See [`Shuffle`].
    Shuffle(Shuffle),
    /// See [`Wide`].
    Wide(Wide),
}

macro_rules! dispatch {
    ($self:ident, $table:ident => $body:expr) => {
        match $self {
            Toy::Fibonacci($table) => $body,
            Toy::Sender($table) => $body,
            Toy::Range8($table) => $body,
            Toy::Shuffle($table) => $body,
            Toy::Wide($table) => $body,
        }
    };
}

impl BaseAir<Val> for Toy {
    fn width(&self) -> usize {
        dispatch!(self, t => t.width())
    }

    fn preprocessed_width(&self) -> usize {
        dispatch!(self, t => t.preprocessed_width())
    }

    fn preprocessed_trace(&self) -> Option<RowMajorMatrix<Val>> {
        dispatch!(self, t => t.preprocessed_trace())
    }

    fn num_public_values(&self) -> usize {
        dispatch!(self, t => t.num_public_values())
    }
}

impl<AB: InteractionBuilder<F = Val>> Air<AB> for Toy {
    fn eval(&self, builder: &mut AB) {
        dispatch!(self, t => t.eval(builder))
    }
}
