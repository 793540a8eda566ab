//! The lookup tables: preprocessed entries, one main multiplicity column per bus they serve.
//!
//! - rom: the program's decoded instructions ([`super::program`]); bus `rom`.
//! - range16: `0..2^16`; bus `range16`.
//! - bytes: every `(a, b)` pair of bytes with `a & b`; buses `byte_pair` and `byte_and`.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

use super::Val;
use super::bus::{BYTE_AND_BUS, BYTE_PAIR_BUS, RANGE16_BUS, ROM_BUS};
use super::labels::{Cx, Ex, Labels};
use super::program;

/// Main width of the rom and range16 tables (the multiplicity).
pub(crate) const MULTIPLICITY_WIDTH: usize = 1;
/// Main columns of the bytes table: multiplicities of `byte_pair` and `byte_and`.
pub(crate) const BYTES_WIDTH: usize = 2;
/// Preprocessed columns of the bytes table: `a`, `b`, `a & b`.
pub(crate) const BYTES_PREPROCESSED_WIDTH: usize = 3;
/// Rows of the range16 and bytes tables.
pub(crate) const LOOKUP_TABLE_HEIGHT: usize = 1 << 16;

fn preprocessed_row<AB: AirBuilder>(b: &AB) -> Vec<Ex<AB>> {
    b.preprocessed()
        .current_slice()
        .iter()
        .map(|&v| v.into())
        .collect()
}

fn main_row<AB: AirBuilder>(b: &AB) -> Vec<Ex<AB>> {
    let main = b.main();
    main.current_slice().iter().map(|&v| v.into()).collect()
}

/// The rom table provides each instruction `multiplicity` times.
pub(crate) fn eval_rom<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let entry = preprocessed_row(cx.b);
    debug_assert_eq!(entry.len(), program::WIDTH);
    let multiplicity = main_row(cx.b)[0].clone();
    cx.provide(ROM_BUS, entry, multiplicity);
}

/// The range16 table provides each value below `2^16`.
pub(crate) fn eval_range16<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let value = preprocessed_row(cx.b);
    let multiplicity = main_row(cx.b)[0].clone();
    cx.provide(RANGE16_BUS, value, multiplicity);
}

/// The bytes table provides each byte pair and its AND.
pub(crate) fn eval_bytes<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let entry = preprocessed_row(cx.b);
    let multiplicities = main_row(cx.b);
    cx.provide(
        BYTE_PAIR_BUS,
        vec![entry[0].clone(), entry[1].clone()],
        multiplicities[0].clone(),
    );
    cx.provide(BYTE_AND_BUS, entry, multiplicities[1].clone());
}

/// `0..2^16`.
pub(crate) fn range16_trace() -> RowMajorMatrix<Val> {
    RowMajorMatrix::new(
        (0..LOOKUP_TABLE_HEIGHT as u32).map(Val::from_u32).collect(),
        1,
    )
}

/// Row `a + 256 b`: `(a, b, a & b)`.
pub(crate) fn bytes_trace() -> RowMajorMatrix<Val> {
    let values = (0..LOOKUP_TABLE_HEIGHT as u32)
        .flat_map(|row| {
            let (a, b) = (row & 0xff, row >> 8);
            [a, b, a & b].map(Val::from_u32)
        })
        .collect();
    RowMajorMatrix::new(values, BYTES_PREPROCESSED_WIDTH)
}
