//! The syscall table: one row per ECALL, in cycle order.
//!
//! It decodes the syscall number (a7 must be 0, 1 or 2, else no row matches the cpu's
//! message), binds the halt's a0 to the public exit code, computes the transfer size of
//! `read_input` (`min(a1, 4096, input left)`) and `commit` (`min(a1, 4096)`), keeps the
//! input and output positions (from the public start positions to the public end
//! positions), and hands each non-empty transfer to the io table.

use p3_air::WindowAccess;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{BYTE_PAIR_BUS, IO_LINK_BUS, RANGE16_BUS, SYSCALL_BUS};
use super::counts::Counts;
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::syscall::*;
use super::public;
use crate::config::MAX_SYSCALL_TRANSFER_BYTES;
use crate::syscall::{SYSCALL_COMMIT, SYSCALL_HALT, SYSCALL_READ_INPUT};

const MAX_TRANSFER: u32 = MAX_SYSCALL_TRANSFER_BYTES;

/// The syscall table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SyscallTable;

impl SyscallTable {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let (local, next) = (main.current_slice(), main.next_slice());
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let nx = |i: usize| -> Ex<AB> { next[i].into() };
        let k = constant::<AB>;
        let publics: Vec<Ex<AB>> = cx.b.public_values().iter().map(|&v| v.into()).collect();
        let public = |i: usize| publics[i].clone();

        for (name, column) in [
            ("syscall: is_real is boolean", IS_REAL),
            ("syscall: halt is boolean", HALT),
            ("syscall: read is boolean", READ),
            ("syscall: commit is boolean", COMMIT),
            ("syscall: small is boolean", SMALL),
            ("syscall: beta is boolean", BETA),
            ("syscall: short is boolean", SHORT),
            ("syscall: nz is boolean", NZ),
        ] {
            cx.boolean(name, l(column));
        }
        cx.zero(
            "syscall: one syscall per real row",
            l(HALT) + l(READ) + l(COMMIT) - l(IS_REAL),
        );
        cx.transition(
            "syscall: real rows are a prefix",
            nx(IS_REAL) * (k(1) - l(IS_REAL)),
        );
        cx.transition(
            "syscall: rows are in cycle order",
            nx(IS_REAL) * (nx(CYCLE) - l(CYCLE) - k(1) - nx(DC) - nx(DC + 1) * k(1 << 16)),
        );
        cx.send(RANGE16_BUS, vec![l(DC)], l(IS_REAL));
        cx.send(BYTE_PAIR_BUS, vec![l(DC + 1), Ex::<AB>::ZERO], l(IS_REAL));

        // Positions.
        let read_count = l(READ) * l(COUNT);
        let commit_count = l(COMMIT) * l(COUNT);
        cx.first_row(
            "syscall: input starts at INPUT_START",
            l(IN_POS) - public(public::INPUT_START),
        );
        cx.first_row(
            "syscall: output starts at OUTPUT_START",
            l(OUT_POS) - public(public::OUTPUT_START),
        );
        cx.transition(
            "syscall: input position advances by the bytes read",
            nx(IN_POS) - l(IN_POS) - read_count.clone(),
        );
        cx.transition(
            "syscall: output position advances by the bytes committed",
            nx(OUT_POS) - l(OUT_POS) - commit_count.clone(),
        );
        cx.last_row(
            "syscall: input ends at INPUT_END",
            l(IN_POS) + read_count - public(public::INPUT_END),
        );
        cx.last_row(
            "syscall: output ends at OUTPUT_END",
            l(OUT_POS) + commit_count - public(public::OUTPUT_END),
        );

        // Halt.
        cx.zero(
            "syscall: the exit code is the halt's a0",
            l(HALT) * (l(A0) - public(public::EXIT_CODE_LO)),
        );
        cx.zero(
            "syscall: the exit code is the halt's a0",
            l(HALT) * (l(A0 + 1) - public(public::EXIT_CODE_HI)),
        );
        cx.zero("syscall: halt transfers nothing", l(HALT) * l(COUNT));

        // cap = min(a1, 4096): SMALL means a1 <= 4096 (a1_hi = 0, 4096 - a1_lo >= 0), else
        // a1 - 4097 >= 0 limb by limb with borrow BETA.
        let transfer = l(READ) + l(COMMIT);
        let big = transfer.clone() - l(SMALL);
        cx.zero(
            "syscall: small only for transfers",
            l(SMALL) * (k(1) - transfer.clone()),
        );
        cx.zero("syscall: small means a1 < 2^16", l(SMALL) * l(A1 + 1));
        cx.zero(
            "syscall: cap = min(a1, 4096)",
            l(CAP) - l(SMALL) * l(A1) - big.clone() * k(MAX_TRANSFER),
        );
        cx.send(
            RANGE16_BUS,
            vec![
                l(SMALL) * (k(MAX_TRANSFER) - l(A1))
                    + big.clone() * (l(A1) - k(MAX_TRANSFER + 1) + l(BETA) * k(1 << 16)),
            ],
            l(IS_REAL),
        );
        cx.send(RANGE16_BUS, vec![big * (l(A1 + 1) - l(BETA))], l(IS_REAL));

        // count: commit takes cap; read takes cap, or what is left of the input when that is
        // less (SHORT). Reading more than is left cannot balance the io bus, whose input
        // messages stop at INPUT_END <= INPUT_LEN.
        let left = public(public::INPUT_LEN) - l(IN_POS);
        cx.zero("syscall: short only for reads", l(SHORT) * (k(1) - l(READ)));
        cx.zero(
            "syscall: count is cap unless short",
            (transfer.clone() - l(SHORT)) * (l(COUNT) - l(CAP)),
        );
        cx.zero(
            "syscall: a short read takes the rest of the input",
            l(SHORT) * (l(COUNT) - left.clone()),
        );
        cx.send(
            RANGE16_BUS,
            vec![l(SHORT) * (l(CAP) - left - k(1))],
            l(IS_REAL),
        );
        cx.zero("syscall: nz = [count != 0]", l(NZ) - l(COUNT) * l(NZ_INV));
        cx.zero("syscall: nz = [count != 0]", l(COUNT) * (k(1) - l(NZ)));

        cx.receive(
            SYSCALL_BUS,
            vec![
                l(CYCLE),
                l(HALT),
                l(READ) * k(SYSCALL_READ_INPUT) + l(COMMIT) * k(SYSCALL_COMMIT),
                Ex::<AB>::ZERO,
                l(A1),
                l(A1 + 1),
                l(A0),
                l(A0 + 1),
                l(HALT) * l(A0) + transfer * l(COUNT),
                l(HALT) * l(A0 + 1),
            ],
            l(IS_REAL),
        );
        cx.send(
            IO_LINK_BUS,
            vec![
                l(CYCLE),
                l(COMMIT),
                l(A0),
                l(A0 + 1),
                l(READ) * l(IN_POS) + l(COMMIT) * l(OUT_POS),
                l(COUNT),
            ],
            l(NZ),
        );
        debug_assert_eq!(SYSCALL_HALT, 0);
    }
}

/// What the trace needs of one ECALL.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SyscallEvent {
    pub(crate) cycle: u32,
    pub(crate) number: u32,
    pub(crate) a0: u32,
    pub(crate) a1: u32,
    pub(crate) count: u32,
    pub(crate) in_pos: u32,
    pub(crate) out_pos: u32,
}

/// Fills a syscall row and counts its lookups. `previous_cycle` is the cycle of the row
/// before (none for the first row).
pub(crate) fn fill_row(
    row: &mut [Val],
    counts: &mut Counts,
    event: &SyscallEvent,
    previous_cycle: Option<u32>,
    input_len: u32,
) {
    row[IS_REAL] = Val::ONE;
    row[CYCLE] = Val::from_u32(event.cycle);
    let (read, commit) = (
        event.number == SYSCALL_READ_INPUT,
        event.number == SYSCALL_COMMIT,
    );
    row[HALT] = Val::from_bool(event.number == SYSCALL_HALT);
    row[READ] = Val::from_bool(read);
    row[COMMIT] = Val::from_bool(commit);
    row[A0] = Val::from_u32(event.a0 & 0xffff);
    row[A0 + 1] = Val::from_u32(event.a0 >> 16);
    row[A1] = Val::from_u32(event.a1 & 0xffff);
    row[A1 + 1] = Val::from_u32(event.a1 >> 16);
    row[COUNT] = Val::from_u32(event.count);
    row[IN_POS] = Val::from_u32(event.in_pos);
    row[OUT_POS] = Val::from_u32(event.out_pos);
    let transfer = read || commit;
    let small = transfer && event.a1 <= MAX_TRANSFER;
    let big = transfer && !small;
    let beta = big && event.a1 & 0xffff < MAX_TRANSFER + 1;
    let cap = if transfer {
        event.a1.min(MAX_TRANSFER)
    } else {
        0
    };
    let left = input_len - event.in_pos;
    let short = read && left < cap;
    row[SMALL] = Val::from_bool(small);
    row[BETA] = Val::from_bool(beta);
    row[CAP] = Val::from_u32(cap);
    row[SHORT] = Val::from_bool(short);
    row[NZ] = Val::from_bool(event.count != 0);
    if event.count != 0 {
        row[NZ_INV] = Val::from_u32(event.count).inverse();
    }
    let dc = previous_cycle.map_or(0, |previous| event.cycle - previous - 1);
    row[DC] = Val::from_u32(dc & 0xffff);
    row[DC + 1] = Val::from_u32(dc >> 16);
    counts.range16(dc & 0xffff);
    counts.byte_pair(dc >> 16, 0);
    let a1_lo = event.a1 & 0xffff;
    counts.range16(if small {
        MAX_TRANSFER - a1_lo
    } else if big {
        a1_lo + (u32::from(beta) << 16) - (MAX_TRANSFER + 1)
    } else {
        0
    });
    counts.range16(if big {
        (event.a1 >> 16) - u32::from(beta)
    } else {
        0
    });
    counts.range16(if short { cap - left - 1 } else { 0 });
}
