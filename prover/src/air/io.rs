//! The io table: one row per memory word a `read_input` or `commit` touches, the words of one
//! transfer on consecutive rows in address order.
//!
//! A transfer `(cycle, stream, buffer, position, count)` arrives from the syscall table on its
//! first row. Each row covers the byte lanes `[start, end]` of word `WIDX` (one-hot `ST` and
//! `EN`; lane `j` is active iff `m_j = sum_{i<=j} ST_i - sum_{i<j} EN_i` is 1); inner rows
//! cover all four lanes, so the rows cover `[buffer, buffer + count)` exactly. Every row
//! accesses its word on the `mem` bus at the ECALL's memory slot: reads replace the active
//! bytes, commits leave the word unchanged. Every active byte is sent on the `io` bus as
//! `(stream, position + lane - start, byte)`, where the verifier receives the public input and
//! output.

use p3_air::WindowAccess;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{BYTE_PAIR_BUS, IO_BUS, IO_LINK_BUS, MEMORY_BUS, MemorySpace, RANGE16_BUS};
use super::counts::Counts;
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::io::*;

/// The io table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IoTable;

impl IoTable {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let nx = |i: usize| -> Ex<AB> { next[i].into() };
        let k = constant::<AB>;

        for (name, column) in [
            ("io: is_real is boolean", IS_REAL),
            ("io: is_first is boolean", IS_FIRST),
            ("io: is_last is boolean", IS_LAST),
            ("io: stream is boolean", STREAM),
            ("io: ro is boolean", RO),
        ] {
            cx.boolean(name, l(column));
        }
        for i in 0..4 {
            cx.boolean("io: start lane is boolean", l(ST + i));
            cx.boolean("io: end lane is boolean", l(EN + i));
        }
        cx.zero("io: first rows are real", l(IS_FIRST) * (k(1) - l(IS_REAL)));
        cx.zero("io: last rows are real", l(IS_LAST) * (k(1) - l(IS_REAL)));
        let start_sum: Ex<AB> = (0..4).map(|i| l(ST + i)).sum();
        let end_sum: Ex<AB> = (0..4).map(|i| l(EN + i)).sum();
        cx.zero("io: one start lane per real row", start_sum - l(IS_REAL));
        cx.zero("io: one end lane per real row", end_sum - l(IS_REAL));
        let lane = |j: usize| -> Ex<AB> {
            (0..=j).map(|i| l(ST + i)).sum::<Ex<AB>>() - (0..j).map(|i| l(EN + i)).sum::<Ex<AB>>()
        };
        let ends_before_start: Ex<AB> = (1..4)
            .map(|j| l(ST + j) * (0..j).map(|i| l(EN + i)).sum::<Ex<AB>>())
            .sum();
        cx.zero(
            "io: the end lane is not before the start lane",
            ends_before_start,
        );
        let start: Ex<AB> = (1..4).map(|j| l(ST + j) * k(j as u32)).sum();
        let count: Ex<AB> = (0..4).map(lane).sum();
        cx.zero(
            "io: inner words start at lane 0",
            (l(IS_REAL) - l(IS_FIRST)) * (k(1) - l(ST)),
        );
        cx.zero(
            "io: inner words end at lane 3",
            (l(IS_REAL) - l(IS_LAST)) * (k(1) - l(EN + 3)),
        );

        // Row structure: real rows are a prefix; a transfer runs from a first row to a last row.
        cx.first_row(
            "io: the first real row starts a transfer",
            l(IS_FIRST) - l(IS_REAL),
        );
        cx.last_row(
            "io: the last real row ends a transfer",
            l(IS_REAL) - l(IS_LAST),
        );
        cx.transition(
            "io: real rows are a prefix",
            nx(IS_REAL) * (k(1) - l(IS_REAL)),
        );
        cx.transition(
            "io: a transfer goes on until its last row",
            (l(IS_REAL) - l(IS_LAST)) * (k(1) - nx(IS_REAL)),
        );
        cx.transition(
            "io: a transfer starts after the last row of the one before",
            nx(IS_REAL) * (nx(IS_FIRST) - l(IS_LAST)),
        );
        let inner = l(IS_REAL) - l(IS_LAST);
        for (name, column, step) in [
            ("io: words are consecutive", WIDX, Ex::<AB>::ONE),
            ("io: positions are consecutive", POS, count.clone()),
            ("io: the byte count goes down", REM, -count.clone()),
            ("io: one cycle per transfer", CYCLE, Ex::<AB>::ZERO),
            ("io: one stream per transfer", STREAM, Ex::<AB>::ZERO),
        ] {
            cx.transition(name, inner.clone() * (nx(column) - l(column) - step));
        }
        cx.zero(
            "io: the last row takes the rest",
            l(IS_LAST) * (l(REM) - count),
        );

        // The transfer arrives on its first row.
        cx.zero(
            "io: first word index from the buffer",
            l(IS_FIRST) * (l(WIDX) - l(WQ) - l(BH) * k(1 << 14)),
        );
        cx.receive(
            IO_LINK_BUS,
            vec![
                l(CYCLE),
                l(STREAM),
                l(WQ) * k(4) + start.clone(),
                l(BH),
                l(POS),
                l(REM),
            ],
            l(IS_FIRST),
        );
        cx.send(RANGE16_BUS, vec![l(WQ)], l(IS_REAL));

        // Memory: reads write RAM; commits read RAM or the text.
        cx.zero(
            "io: reads write RAM, not the text",
            l(RO) * (k(1) - l(STREAM)),
        );
        for j in 0..4 {
            cx.zero(
                "io: inactive bytes are unchanged",
                (k(1) - lane(j)) * (l(NB + j) - l(PB + j)),
            );
            cx.zero(
                "io: commits change nothing",
                l(STREAM) * (l(NB + j) - l(PB + j)),
            );
        }
        let space = l(RO) * k(MemorySpace::Text as u32);
        let ts = l(CYCLE) * k(4) + k(3);
        let prev_ts = ts.clone() - k(1) - l(D) - l(D + 1) * k(1 << 16);
        let limb =
            |column: usize, half: usize| l(column + 2 * half) + l(column + 2 * half + 1) * k(256);
        cx.receive(
            MEMORY_BUS,
            vec![space.clone(), l(WIDX), limb(PB, 0), limb(PB, 1), prev_ts],
            l(IS_REAL),
        );
        cx.send(
            MEMORY_BUS,
            vec![space, l(WIDX), limb(NB, 0), limb(NB, 1), ts],
            l(IS_REAL),
        );
        cx.send(RANGE16_BUS, vec![l(D)], l(IS_REAL));
        cx.send(BYTE_PAIR_BUS, vec![l(D + 1), Ex::<AB>::ZERO], l(IS_REAL));
        cx.send(BYTE_PAIR_BUS, vec![l(PB), l(PB + 1)], l(IS_REAL));
        cx.send(BYTE_PAIR_BUS, vec![l(PB + 2), l(PB + 3)], l(IS_REAL));

        // The bytes, in stream order.
        for j in 0..4 {
            cx.send(
                IO_BUS,
                vec![l(STREAM), l(POS) + k(j as u32) - start.clone(), l(NB + j)],
                lane(j),
            );
        }
    }
}

/// One word of a transfer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoWord {
    pub(crate) cycle: u32,
    pub(crate) output: bool,
    pub(crate) first: bool,
    pub(crate) last: bool,
    /// Byte address of the word.
    pub(crate) word_address: u32,
    /// Active lanes `[start, end]`.
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) position: u32,
    /// Bytes left including this word's.
    pub(crate) remaining: u32,
    pub(crate) text: bool,
    pub(crate) before: u32,
    pub(crate) after: u32,
    /// `ts - prev_ts - 1`.
    pub(crate) delta: u32,
}

/// Fills an io row and counts its lookups.
pub(crate) fn fill_row(row: &mut [Val], counts: &mut Counts, word: &IoWord) {
    row[IS_REAL] = Val::ONE;
    row[IS_FIRST] = Val::from_bool(word.first);
    row[IS_LAST] = Val::from_bool(word.last);
    row[CYCLE] = Val::from_u32(word.cycle);
    row[STREAM] = Val::from_bool(word.output);
    row[WIDX] = Val::from_u32(word.word_address >> 2);
    let wq = if word.first {
        (word.word_address & 0xffff) >> 2
    } else {
        0
    };
    if word.first {
        row[WQ] = Val::from_u32(wq);
        row[BH] = Val::from_u32(word.word_address >> 16);
    }
    row[ST + word.start as usize] = Val::ONE;
    row[EN + word.end as usize] = Val::ONE;
    row[POS] = Val::from_u32(word.position);
    row[REM] = Val::from_u32(word.remaining);
    row[RO] = Val::from_bool(word.text);
    for j in 0..4 {
        row[PB + j] = Val::from_u32((word.before >> (8 * j)) & 0xff);
        row[NB + j] = Val::from_u32((word.after >> (8 * j)) & 0xff);
    }
    row[D] = Val::from_u32(word.delta & 0xffff);
    row[D + 1] = Val::from_u32(word.delta >> 16);
    counts.range16(wq);
    counts.range16(word.delta & 0xffff);
    counts.byte_pair(word.delta >> 16, 0);
    counts.byte_pair(word.before & 0xff, (word.before >> 8) & 0xff);
    counts.byte_pair((word.before >> 16) & 0xff, word.before >> 24);
}
