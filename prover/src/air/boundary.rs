//! The segment boundary: the boundary table, and the messages that stand in for the rest of
//! the run when one segment is checked alone.
//!
//! Every register and word the segment's memory argument touches has one boundary row. On
//! the proof-scoped `mem` bus the row opens the word (`send(space, address, start, 0)`) and
//! closes it (`receive(space, address, end, last_timestamp)`), so the segment's own accesses
//! balance. On the execution bus `gmem` the row receives the start value from the segment
//! that left it (`receive(space, address, start, previous_tag)`) and hands the end value on
//! (`send(space, address, end, k + 1)` for segment `k`), with `previous_tag < k + 1`
//! range-checked. A segment alone does not balance `gmem`: the other segments, the initial
//! image and the final memory of the run ([`super::run`]) do.

use p3_air::WindowAccess;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{GLOBAL_MEMORY_BUS, IO_BUS, IoStream, MEMORY_BUS, MemorySpace, RANGE16_BUS};
use super::counts::Counts;
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::boundary::*;
use super::public::{self, SegmentPublics};
use super::run::{BoundaryError, ExternalMessage, limbs};

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
    /// `gmem` tag of the start value: index + 1 of the last earlier segment that touched the
    /// word, 0 if none did (the value is the initial image's).
    pub previous_tag: u32,
}

/// The boundary table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BoundaryTable;

impl BoundaryTable {
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let local = main.current_slice();
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let segment_index: Ex<AB> = cx.b.public_values()[public::SEGMENT_INDEX].into();
        let tag = segment_index.clone() + constant::<AB>(1);

        cx.boolean("boundary: is_real is boolean", l(IS_REAL));
        let start = vec![l(START), l(START + 1)];
        let end = vec![l(END), l(END + 1)];
        let message = |value: &[Ex<AB>], time: Ex<AB>| {
            vec![
                l(SPACE),
                l(ADDRESS),
                value[0].clone(),
                value[1].clone(),
                time,
            ]
        };
        // The segment's own chain of accesses, from timestamp 0 to the last access.
        cx.send(MEMORY_BUS, message(&start, Ex::<AB>::ZERO), l(IS_REAL));
        cx.receive(MEMORY_BUS, message(&end, l(LAST_TS)), l(IS_REAL));
        // The chain across segments: from an earlier writer (or the initial image) to a later
        // reader (or the final memory).
        cx.receive(GLOBAL_MEMORY_BUS, message(&start, l(PREV_TAG)), l(IS_REAL));
        cx.send(GLOBAL_MEMORY_BUS, message(&end, tag), l(IS_REAL));
        // previous_tag < k + 1: k - previous_tag is below 2^16 (there are at most 2^16
        // segments, so a "negative" difference wraps far above that).
        cx.send(RANGE16_BUS, vec![segment_index - l(PREV_TAG)], l(IS_REAL));
    }
}

/// Fills a boundary row and counts its range check.
pub(crate) fn fill_row(row: &mut [Val], counts: &mut Counts, word: &BoundaryWord, index: u32) {
    row[IS_REAL] = Val::ONE;
    row[SPACE] = Val::from_u8(word.space as u8);
    row[ADDRESS] = Val::from_u32(word.address);
    let [start_lo, start_hi] = limbs(word.value_at_start);
    let [end_lo, end_hi] = limbs(word.value_at_end);
    row[START] = start_lo;
    row[START + 1] = start_hi;
    row[END] = end_lo;
    row[END + 1] = end_hi;
    row[LAST_TS] = Val::from_u32(word.last_timestamp);
    row[PREV_TAG] = Val::from_u32(word.previous_tag);
    counts.range16(index - word.previous_tag);
}

/// What the rest of an honest run adds to one segment's execution buses: on `gmem` the
/// start values sent by their writers and the end values received by their readers, on `io`
/// the public input and output bytes between the segment's positions. With these, one
/// segment balances alone; the checking harness ([`super::check_segment`]) uses them.
/// `input` and `output` are the run's whole public input and output.
///
/// # Errors
/// [`BoundaryError::IoRange`] when the positions are outside `input` or `output`.
pub fn segment_closing_messages(
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
    let tag = Val::from_u32(publics.segment_index + 1);
    let mut messages =
        Vec::with_capacity(2 * boundary.len() + input_bytes.len() + output_bytes.len());
    for word in boundary {
        let space = Val::from_u8(word.space as u8);
        let address = Val::from_u32(word.address);
        let [start_lo, start_hi] = limbs(word.value_at_start);
        let [end_lo, end_hi] = limbs(word.value_at_end);
        messages.push(ExternalMessage {
            bus: GLOBAL_MEMORY_BUS,
            fields: vec![
                space,
                address,
                start_lo,
                start_hi,
                Val::from_u32(word.previous_tag),
            ],
            multiplicity: Val::ONE,
        });
        messages.push(ExternalMessage {
            bus: GLOBAL_MEMORY_BUS,
            fields: vec![space, address, end_lo, end_hi, tag],
            multiplicity: Val::NEG_ONE,
        });
    }
    for (stream, start, bytes) in [
        (IoStream::Input, publics.input_start, input_bytes),
        (IoStream::Output, publics.output_start, output_bytes),
    ] {
        messages.extend(io_messages(stream, start, bytes));
    }
    Ok(messages)
}

/// The verifier's receipts of `bytes` of `stream` from offset `start` on the `io` bus.
pub(crate) fn io_messages(
    stream: IoStream,
    start: u32,
    bytes: &[u8],
) -> impl Iterator<Item = ExternalMessage> + '_ {
    (start..)
        .zip(bytes)
        .map(move |(offset, &byte)| ExternalMessage {
            bus: IO_BUS,
            fields: vec![
                Val::from_u8(stream as u8),
                Val::from_u32(offset),
                Val::from_u8(byte),
            ],
            multiplicity: Val::NEG_ONE,
        })
}
