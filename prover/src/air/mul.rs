//! The mul table: MUL, MULH, MULHSU, MULHU and the shifts, one row per instruction, all as
//! a 64-bit product `x * y` ([`super::product`]) of `x = b` (sign-extended for MULH, MULHSU
//! and SRA) and `y`:
//!
//! - MUL*: `y = c` (sign-extended for MULH); the result is the low (MUL) or high word.
//! - SLL: `y = 2^s` with `s = c mod 32`; the result is the low word.
//! - SRL/SRA: `y = 2^s'` with `s' = -c mod 32`; the result is the high word
//!   (`b * 2^(32-s) >> 32 = b >> s`), or the low word (`b`) when `s' = 0`.
//!
//! `2^s` is `E * 2^(8 G)` with `E = (1 + S0)(1 + 3 S1)(1 + 15 S2)` and `G` the one-hot byte
//! position; `c_lo = 32 T ± s` with `T < 2^16` pins `s` to `c`'s low five bits.

use p3_air::WindowAccess;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{ALU_BUS, BYTE_PAIR_BUS, RANGE16_BUS};
use super::counts::Counts;
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::mul::*;
use super::product::{eval_product, extended_bytes, product_witness};
use super::program::AluOp;

const OPS: [(usize, AluOp); 7] = [
    (MUL, AluOp::Mul),
    (MULH, AluOp::Mulh),
    (MULHSU, AluOp::Mulhsu),
    (MULHU, AluOp::Mulhu),
    (SLL, AluOp::Sll),
    (SRL, AluOp::Srl),
    (SRA, AluOp::Sra),
];

/// The mul table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MulTable;

impl MulTable {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let local = main.current_slice();
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let k = constant::<AB>;

        for (column, _) in OPS {
            cx.boolean("mul: operation flag is boolean", l(column));
        }
        let active: Ex<AB> = OPS.iter().map(|&(column, _)| l(column)).sum();
        cx.boolean("mul: one operation per row", active.clone());
        let op: Ex<AB> = OPS
            .iter()
            .map(|&(column, op)| l(column) * k(op as u32))
            .sum();
        let multiply = l(MUL) + l(MULH) + l(MULHSU) + l(MULHU);
        let shift = l(SLL) + l(SRL) + l(SRA);
        let right = l(SRL) + l(SRA);
        let limb =
            |column: usize, half: usize| l(column + 2 * half) + l(column + 2 * half + 1) * k(256);

        // y = c for multiplications.
        for half in 0..2 {
            cx.zero(
                "mul: y is c",
                multiply.clone() * (l(CL + half) - limb(Y, half)),
            );
        }
        // Shift amount.
        for i in 0..3 {
            cx.boolean("mul: shift bit is boolean", l(S + i));
        }
        for i in 0..4 {
            cx.boolean("mul: byte position is boolean", l(G + i));
        }
        let positions: Ex<AB> = (0..4).map(|i| l(G + i)).sum();
        cx.zero(
            "mul: one byte position per shift",
            positions - shift.clone(),
        );
        let amount = l(S)
            + l(S + 1) * k(2)
            + l(S + 2) * k(4)
            + (l(G + 1) + l(G + 3)) * k(8)
            + (l(G + 2) + l(G + 3)) * k(16);
        let direction = l(SLL) - right.clone();
        cx.zero(
            "mul: shift amount is c mod 32 (left) or -c mod 32 (right)",
            shift.clone() * (l(CL) - l(T) * k(32) - direction * amount.clone()),
        );
        cx.zero(
            "mul: e = 2^(s mod 8)",
            l(E) - (k(1) + l(S)) * (k(1) + l(S + 1) * k(3)) * (k(1) + l(S + 2) * k(15)),
        );
        for i in 0..4 {
            cx.zero(
                "mul: y = 2^s for shifts",
                shift.clone() * (l(Y + i) - l(E) * l(G + i)),
            );
        }
        cx.boolean("mul: sz is boolean", l(SZ));
        cx.zero("mul: sz implies a zero shift", l(SZ) * amount.clone());
        cx.zero(
            "mul: a zero right shift sets sz",
            right.clone() * (amount * l(SINV) - k(1) + l(SZ)),
        );
        cx.zero(
            "mul: sz only for right shifts",
            l(SZ) * (k(1) - right.clone()),
        );

        // Signs.
        cx.boolean("mul: mx is boolean", l(MX));
        cx.boolean("mul: my is boolean", l(MY));
        cx.send(
            BYTE_PAIR_BUS,
            vec![
                l(X + 3) * k(2) - l(MX) * k(256),
                l(Y + 3) * k(2) - l(MY) * k(256),
            ],
            active.clone(),
        );
        cx.zero(
            "mul: x is signed for mulh, mulhsu, sra",
            l(XN) - (l(MULH) + l(MULHSU) + l(SRA)) * l(MX),
        );
        cx.zero("mul: y is signed for mulh", l(YN) - l(MULH) * l(MY));

        // The product.
        let extend = |column: usize, negative: usize| -> [Ex<AB>; 8] {
            core::array::from_fn(|i| {
                if i < 4 {
                    l(column + i)
                } else {
                    l(negative) * k(255)
                }
            })
        };
        let zero: [Ex<AB>; 8] = core::array::from_fn(|_| Ex::<AB>::ZERO);
        let w: [Ex<AB>; 8] = core::array::from_fn(|i| l(W + i));
        let carries: [Ex<AB>; 8] = core::array::from_fn(|i| l(K + i));
        eval_product(
            cx,
            "mul: product",
            &extend(X, XN),
            &extend(Y, YN),
            &zero,
            &w,
            &carries,
        );

        // Result.
        let low = l(MUL) + l(SLL) + right.clone() * l(SZ);
        let high = l(MULH) + l(MULHSU) + l(MULHU) + right * (k(1) - l(SZ));
        for half in 0..2 {
            cx.zero(
                "mul: low-word result",
                low.clone() * (l(RES + half) - limb(W, half)),
            );
            cx.zero(
                "mul: high-word result",
                high.clone() * (l(RES + half) - limb(W, half + 2)),
            );
        }
        cx.receive(
            ALU_BUS,
            vec![
                op,
                l(RES),
                l(RES + 1),
                limb(X, 0),
                limb(X, 1),
                l(CL),
                l(CL + 1),
            ],
            active.clone(),
        );

        // Range checks.
        for i in (0..4).step_by(2) {
            cx.send(BYTE_PAIR_BUS, vec![l(X + i), l(X + i + 1)], active.clone());
            cx.send(BYTE_PAIR_BUS, vec![l(Y + i), l(Y + i + 1)], active.clone());
        }
        for i in (0..8).step_by(2) {
            cx.send(BYTE_PAIR_BUS, vec![l(W + i), l(W + i + 1)], active.clone());
        }
        for i in 0..8 {
            cx.send(RANGE16_BUS, vec![l(K + i)], active.clone());
        }
        cx.send(RANGE16_BUS, vec![l(T)], active);
    }
}

/// Fills an inactive row (`E = 2^0`).
pub(crate) fn fill_padding(row: &mut [Val]) {
    row[E] = Val::ONE;
}

/// Fills a mul row for `op` on `b`, `c` and counts its lookups; returns the result.
pub(crate) fn fill_row(row: &mut [Val], counts: &mut Counts, op: AluOp, b: u32, c: u32) -> u32 {
    let column = OPS
        .iter()
        .find(|&&(_, o)| o == op)
        .expect("a mul-table operation")
        .0;
    row[column] = Val::ONE;
    let right = matches!(op, AluOp::Srl | AluOp::Sra);
    let (y, amount) = match op {
        AluOp::Sll => (1u32 << (c & 31), c & 31),
        AluOp::Srl | AluOp::Sra => {
            let amount = c.wrapping_neg() & 31;
            (1u32 << amount, amount)
        }
        _ => (c, 0),
    };
    let mx = b >> 31 == 1;
    let my = y >> 31 == 1;
    let xn = mx && matches!(op, AluOp::Mulh | AluOp::Mulhsu | AluOp::Sra);
    let yn = my && op == AluOp::Mulh;
    let xb = extended_bytes(b, xn);
    let yb = extended_bytes(y, yn);
    let (w, carries) = product_witness(&xb, &yb, &[0; 8]);
    let word = |i: usize| (w[i] | w[i + 1] << 8 | w[i + 2] << 16 | w[i + 3] << 24) as u32;
    let sz = right && amount == 0;
    let result = match op {
        AluOp::Mul | AluOp::Sll => word(0),
        _ if sz => word(0),
        _ => word(4),
    };
    for i in 0..4 {
        row[X + i] = Val::from_u64(xb[i]);
        row[Y + i] = Val::from_u64(yb[i]);
    }
    for i in 0..8 {
        row[W + i] = Val::from_u64(w[i]);
        row[K + i] = Val::from_u64(carries[i]);
        counts.range16(carries[i] as u32);
    }
    row[XN] = Val::from_bool(xn);
    row[YN] = Val::from_bool(yn);
    row[MX] = Val::from_bool(mx);
    row[MY] = Val::from_bool(my);
    let shift = matches!(op, AluOp::Sll | AluOp::Srl | AluOp::Sra);
    let t = if shift {
        for i in 0..3 {
            row[S + i] = Val::from_bool(amount >> i & 1 == 1);
        }
        row[G + (amount >> 3) as usize] = Val::ONE;
        let c_lo = c & 0xffff;
        if op == AluOp::Sll {
            (c_lo - amount) / 32
        } else {
            (c_lo + amount) / 32
        }
    } else {
        0
    };
    row[T] = Val::from_u32(t);
    row[E] = Val::from_u32(if shift { 1 << (amount & 7) } else { 1 });
    row[SZ] = Val::from_bool(sz);
    if right && amount != 0 {
        row[SINV] = Val::from_u32(amount).inverse();
    }
    row[CL] = Val::from_u32(c & 0xffff);
    row[CL + 1] = Val::from_u32(c >> 16);
    row[RES] = Val::from_u32(result & 0xffff);
    row[RES + 1] = Val::from_u32(result >> 16);

    counts.byte_pair(
        2 * (xb[3] as u32) - 256 * u32::from(mx),
        2 * (yb[3] as u32) - 256 * u32::from(my),
    );
    for i in (0..4).step_by(2) {
        counts.byte_pair(xb[i] as u32, xb[i + 1] as u32);
        counts.byte_pair(yb[i] as u32, yb[i + 1] as u32);
    }
    for i in (0..8).step_by(2) {
        counts.byte_pair(w[i] as u32, w[i + 1] as u32);
    }
    counts.range16(t);
    result
}
