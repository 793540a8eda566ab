//! Fetch, pc update, the first and last rows, operand rules and the four `mem` ports.

use p3_air::WindowAccess;
use p3_lookup::InteractionBuilder;

use super::*;
use crate::air::bus::{BYTE_PAIR_BUS, MEMORY_BUS, MemorySpace, RANGE16_BUS, ROM_BUS};
use crate::air::labels::{Ex, constant};
use crate::air::public;

/// Selectors that must be zero on inactive rows (they are bus multiplicities or gate them).
const PADDING_ZERO: [usize; 4] = [
    rom(program::RS1_READ),
    rom(program::RS2_READ),
    rom(program::RD_WRITE),
    rom(program::C_IS_IMM),
];

/// A `mem` port: space, address, value columns before and after, slot, delta column,
/// multiplicity.
type Port<E> = (E, E, [usize; 2], u32, usize, E);

pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let main = cx.b.main();
    let (local, next) = (main.current_slice(), main.next_slice());
    let l = |i: usize| -> Ex<AB> { local[i].into() };
    let nx = |i: usize| -> Ex<AB> { next[i].into() };
    let k = constant::<AB>;
    let publics: Vec<Ex<AB>> = cx.b.public_values().iter().map(|&v| v.into()).collect();
    let public = |i: usize| publics[i].clone();

    // Rows: the real ones are a prefix starting at row 0; CYCLE is the row index.
    cx.boolean("cpu: is_real is boolean", l(IS_REAL));
    cx.first_row("cpu: the first row is real", l(IS_REAL) - k(1));
    cx.first_row(
        "cpu: the first pc is START_PC",
        l(PC) - public(public::START_PC),
    );
    cx.first_row("cpu: cycle starts at 0", l(CYCLE));
    cx.transition("cpu: cycle increments", nx(CYCLE) - l(CYCLE) - k(1));
    cx.transition(
        "cpu: real rows are a prefix",
        nx(IS_REAL) * (k(1) - l(IS_REAL)),
    );
    for (i, &column) in PADDING_ZERO.iter().enumerate() {
        const NAMES: [&str; 4] = [
            "cpu: inactive rows read no rs1",
            "cpu: inactive rows read no rs2",
            "cpu: inactive rows write no rd",
            "cpu: inactive rows have no immediate operand",
        ];
        cx.zero(NAMES[i], (k(1) - l(IS_REAL)) * l(column));
    }
    for i in 0..program::NUM_FLAGS {
        cx.zero(
            "cpu: inactive rows have no selector",
            (k(1) - l(IS_REAL)) * l(rom(program::FLAGS) + i),
        );
    }

    // Fetch: the row's pc and decoded fields are a ROM entry.
    let mut fetched = vec![l(PC)];
    fetched.extend((ROM..ROM + 33).map(l));
    cx.send(ROM_BUS, fetched, l(IS_REAL));

    // Next pc.
    let target = l(rom(program::IMM_LO)) + l(rom(program::IMM_HI)) * k(1 << 16);
    let jalr_target = l(Q) * k(4) + l(H + 1) * k(1 << 16);
    let sequential = l(PC) + k(4);
    let next_pc = sequential.clone()
        + l(flag(Flag::Jal)) * (target.clone() - sequential.clone())
        + l(flag(Flag::Jalr)) * (jalr_target - sequential.clone())
        + l(TAKEN) * (target - sequential)
        - l(IS_HALT) * k(4);
    cx.zero("cpu: next pc", l(NEXT_PC) - next_pc);
    cx.transition(
        "cpu: the next real row is at next pc",
        nx(IS_REAL) * (nx(PC) - l(NEXT_PC)),
    );

    // The last real row fixes END_PC, CYCLE_COUNT and HALTED: on a transition where the next
    // row is inactive, or on the last row when every row is real.
    let ending = l(IS_REAL) - nx(IS_REAL);
    cx.transition(
        "cpu: the last real row ends at END_PC",
        ending.clone() * (l(NEXT_PC) - public(public::END_PC)),
    );
    cx.transition(
        "cpu: the last real row is cycle CYCLE_COUNT - 1",
        ending.clone() * (l(CYCLE) + k(1) - public(public::CYCLE_COUNT)),
    );
    cx.transition(
        "cpu: HALTED is whether the last real row halts",
        ending * (l(IS_HALT) - public(public::HALTED)),
    );
    cx.last_row(
        "cpu: the last real row ends at END_PC",
        l(IS_REAL) * (l(NEXT_PC) - public(public::END_PC)),
    );
    cx.last_row(
        "cpu: the last real row is cycle CYCLE_COUNT - 1",
        l(IS_REAL) * (l(CYCLE) + k(1) - public(public::CYCLE_COUNT)),
    );
    cx.last_row(
        "cpu: HALTED is whether the last real row halts",
        l(IS_REAL) * (l(IS_HALT) - public(public::HALTED)),
    );
    cx.transition("cpu: nothing runs after the halt", l(IS_HALT) * nx(IS_REAL));
    cx.first_row(
        "cpu: HALTED is boolean",
        public(public::HALTED) * (public(public::HALTED) - k(1)),
    );
    for limb in [public::EXIT_CODE_LO, public::EXIT_CODE_HI] {
        cx.first_row(
            "cpu: no exit code without a halt",
            (k(1) - public(public::HALTED)) * public(limb),
        );
    }

    // Operands: b is rs1's value or 0; c is rs2's value, the immediate, or 0.
    let rs1_read = l(rom(program::RS1_READ));
    let rs2_read = l(rom(program::RS2_READ));
    let c_is_imm = l(rom(program::C_IS_IMM));
    for limb in 0..2 {
        cx.zero(
            "cpu: b is 0 unless rs1 is read",
            (k(1) - rs1_read.clone()) * l(B + limb),
        );
        cx.zero(
            "cpu: c is 0 unless rs2 or the immediate is used",
            (k(1) - rs2_read.clone() - c_is_imm.clone()) * l(C + limb),
        );
        cx.zero(
            "cpu: c is the immediate",
            c_is_imm.clone() * (l(C + limb) - l(rom(program::IMM_LO) + limb)),
        );
    }

    // The mem ports. Each access receives the previous (value, timestamp) and sends the new
    // value at this cycle's slot; prev_ts = ts - 1 - D (D < 2^24 by the range checks below),
    // so timestamps strictly increase.
    let register = || k(MemorySpace::Register as u32);
    let ts = |slot: u32| l(CYCLE) * k(4) + k(slot + 1);
    let prev_ts = |slot: u32, d: usize| ts(slot) - k(1) - l(d) - l(d + 1) * k(1 << 16);
    let word_index = l(Q) + l(H + 1) * k(1 << 14);
    let memop = memory::memory_selector(&l);
    let space = l(RO) * k(MemorySpace::Text as u32);
    let ports: [Port<Ex<AB>>; 4] = [
        (register(), l(rom(program::RS1)), [B, B], 0, DA, rs1_read),
        (register(), l(rom(program::RS2)), [C, C], 1, DB, rs2_read),
        (space, word_index, [MEM, NEW], 2, DM, memop),
        (
            register(),
            l(rom(program::RD)),
            [RD_PREV, A],
            3,
            DD,
            l(rom(program::RD_WRITE)),
        ),
    ];
    for (space, address, [before, after], slot, d, count) in ports {
        cx.receive(
            MEMORY_BUS,
            vec![
                space.clone(),
                address.clone(),
                l(before),
                l(before + 1),
                prev_ts(slot, d),
            ],
            count.clone(),
        );
        cx.send(
            MEMORY_BUS,
            vec![space, address, l(after), l(after + 1), ts(slot)],
            count,
        );
        cx.send(RANGE16_BUS, vec![l(d)], l(IS_REAL));
    }
    cx.send(BYTE_PAIR_BUS, vec![l(DA + 1), l(DB + 1)], l(IS_REAL));
    cx.send(BYTE_PAIR_BUS, vec![l(DD + 1), l(DM + 1)], l(IS_REAL));

    // Booleans used across the row.
    for (name, column) in [
        ("cpu: carry 0 is boolean", CARRY),
        ("cpu: carry 1 is boolean", CARRY + 1),
        ("cpu: b_msb is boolean", B_MSB),
        ("cpu: c_msb is boolean", C_MSB),
        ("cpu: eq is boolean", EQ),
        ("cpu: off0 is boolean", OFF0),
        ("cpu: off1 is boolean", OFF1),
        ("cpu: ro is boolean", RO),
        ("cpu: lmsb is boolean", LMSB),
        ("cpu: is_halt is boolean", IS_HALT),
    ] {
        cx.boolean(name, l(column));
    }
}
