//! The div table: DIV, DIVU, REM, REMU, one row per instruction. With quotient `x`, divisor
//! `y = c`, remainder `z` and dividend `w = b` it asserts `x * y + z = w` as a 64-bit product
//! ([`super::product`]; signed operations sign-extend all four) and, for `c != 0`,
//! `|z| < |y|` and `z` has the sign of `b` (or is 0): truncating division as RISC-V specifies.
//!
//! Special cases: `c = 0` (CZ) forces `x = 2^32 - 1`, and the product gives `z = b`; the
//! signed overflow `-2^31 / -1` (OVF) gives `x = -2^31`, `z = 0`, and the product's high word is
//! then 0 instead of `b`'s sign extension.

use p3_air::WindowAccess;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{ALU_BUS, BYTE_PAIR_BUS, RANGE16_BUS};
use super::counts::Counts;
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::div::*;
use super::product::{eval_product, extended_bytes, product_witness};
use super::program::AluOp;

const OPS: [(usize, AluOp); 4] = [
    (DIV, AluOp::Div),
    (DIVU, AluOp::Divu),
    (REM, AluOp::Rem),
    (REMU, AluOp::Remu),
];

/// The div table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DivTable;

impl DivTable {
    #[allow(clippy::too_many_lines)]
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let local = main.current_slice();
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let k = constant::<AB>;

        for (column, _) in OPS {
            cx.boolean("div: operation flag is boolean", l(column));
        }
        let active: Ex<AB> = OPS.iter().map(|&(column, _)| l(column)).sum();
        cx.boolean("div: one operation per row", active.clone());
        let op: Ex<AB> = OPS
            .iter()
            .map(|&(column, op)| l(column) * k(op as u32))
            .sum();
        let signed = l(DIV) + l(REM);
        let limb =
            |column: usize, half: usize| l(column + 2 * half) + l(column + 2 * half + 1) * k(256);

        // Signs: M* is each value's top bit; *N is it for signed operations.
        for (name, column) in [
            ("div: mx is boolean", MX),
            ("div: my is boolean", MY),
            ("div: mz is boolean", MZ),
            ("div: mw is boolean", MW),
            ("div: ovf is boolean", OVF),
            ("div: cz is boolean", CZ),
            ("div: beta is boolean", BETA),
            ("div: rho0 is boolean", RHO),
            ("div: rho1 is boolean", RHO + 1),
            ("div: gam0 is boolean", GAM),
            ("div: gam1 is boolean", GAM + 1),
        ] {
            cx.boolean(name, l(column));
        }
        let msb = |column: usize, flag: usize| l(column + 3) * k(2) - l(flag) * k(256);
        cx.send(BYTE_PAIR_BUS, vec![msb(X, MX), msb(Y, MY)], active.clone());
        cx.send(BYTE_PAIR_BUS, vec![msb(Z, MZ), msb(W, MW)], active.clone());
        for (name, negative, top) in [
            ("div: xn", XN, MX),
            ("div: yn", YN, MY),
            ("div: zn", ZN, MZ),
            ("div: wn", WN, MW),
        ] {
            cx.zero(name, l(negative) - signed.clone() * l(top));
        }

        // Overflow: only -2^31 / -1.
        cx.zero(
            "div: overflow only when signed",
            l(OVF) * (k(1) - signed.clone()),
        );
        for (i, byte) in [0u32, 0, 0, 128].into_iter().enumerate() {
            cx.zero(
                "div: overflow means b = -2^31",
                l(OVF) * (l(W + i) - k(byte)),
            );
            cx.zero("div: overflow means c = -1", l(OVF) * (l(Y + i) - k(255)));
        }

        // Division by zero.
        let y_sum: Ex<AB> = (0..4).map(|i| l(Y + i)).sum();
        cx.zero("div: cz implies c = 0", l(CZ) * y_sum.clone());
        cx.zero(
            "div: c = 0 implies cz",
            active.clone() * (y_sum * l(CZINV) - k(1) + l(CZ)),
        );
        for i in 0..4 {
            cx.zero("div: x / 0 = 2^32 - 1", l(CZ) * (l(X + i) - k(255)));
        }

        // The product.
        let extend = |column: usize, negative: Ex<AB>| -> [Ex<AB>; 8] {
            core::array::from_fn(|i| {
                if i < 4 {
                    l(column + i)
                } else {
                    negative.clone() * k(255)
                }
            })
        };
        let carries: [Ex<AB>; 8] = core::array::from_fn(|i| l(K + i));
        eval_product(
            cx,
            "div: quotient * divisor + remainder = dividend",
            &extend(X, l(XN)),
            &extend(Y, l(YN)),
            &extend(Z, l(ZN)),
            &extend(W, l(WN) - l(OVF)),
            &carries,
        );

        // |z| and |y|: v for v >= 0, else 2^32 - v in limbs with boolean carries (range checks
        // on the results force the carries).
        for (name, value, negative, abs, carry) in [
            ("div: |remainder|", Z, ZN, RABS, RHO),
            ("div: |divisor|", Y, YN, CABS, GAM),
        ] {
            let (lo, hi) = (limb(value, 0), limb(value, 1));
            cx.zero(
                name,
                l(abs) - lo.clone()
                    + l(negative) * (lo * k(2) - k(1 << 16) + l(carry) * k(1 << 16)),
            );
            cx.zero(
                name,
                l(abs + 1) - hi.clone()
                    + l(negative) * (hi * k(2) - k(0xffff) - l(carry) + l(carry + 1) * k(1 << 16)),
            );
        }
        // |z| + 1 + D = |y| with D >= 0, unless c = 0.
        let compare = active.clone() * (k(1) - l(CZ));
        cx.zero(
            "div: |remainder| < |divisor|",
            compare.clone() * (l(RABS) + k(1) + l(DD) - l(CABS) - l(BETA) * k(1 << 16)),
        );
        cx.zero(
            "div: |remainder| < |divisor|",
            compare * (l(RABS + 1) + l(DD + 1) + l(BETA) - l(CABS + 1)),
        );
        // The remainder has the dividend's sign or is 0.
        cx.zero(
            "div: negative remainder needs a negative dividend",
            l(ZN) * (k(1) - l(WN)),
        );
        cx.zero(
            "div: a negative dividend leaves no positive remainder",
            l(WN) * (k(1) - l(ZN)) * (limb(Z, 0) + limb(Z, 1)),
        );

        // Result and message.
        let quotient = l(DIV) + l(DIVU);
        let remainder = l(REM) + l(REMU);
        cx.receive(
            ALU_BUS,
            vec![
                op,
                quotient.clone() * limb(X, 0) + remainder.clone() * limb(Z, 0),
                quotient * limb(X, 1) + remainder * limb(Z, 1),
                limb(W, 0),
                limb(W, 1),
                limb(Y, 0),
                limb(Y, 1),
            ],
            active.clone(),
        );

        // Range checks.
        for column in [X, Y, Z, W] {
            for i in (0..4).step_by(2) {
                cx.send(
                    BYTE_PAIR_BUS,
                    vec![l(column + i), l(column + i + 1)],
                    active.clone(),
                );
            }
        }
        for column in (K..K + 8).chain([RABS, RABS + 1, CABS, CABS + 1, DD, DD + 1]) {
            cx.send(RANGE16_BUS, vec![l(column)], active.clone());
        }
    }
}

/// `-value mod 2^32` in limbs with the carries of `(0xffff - v) + 1` per limb.
fn negation_carries(value: u32) -> [bool; 2] {
    let low_zero = value & 0xffff == 0;
    [low_zero, low_zero && value >> 16 == 0]
}

/// Fills a div row for `op` on `b`, `c` and counts its lookups; returns the result.
#[allow(clippy::similar_names)]
pub(crate) fn fill_row(row: &mut [Val], counts: &mut Counts, op: AluOp, b: u32, c: u32) -> u32 {
    let column = OPS
        .iter()
        .find(|&&(_, o)| o == op)
        .expect("a div-table operation")
        .0;
    row[column] = Val::ONE;
    let signed = matches!(op, AluOp::Div | AluOp::Rem);
    let overflow = signed && b == 0x8000_0000 && c == u32::MAX;
    let (quotient, remainder) = if c == 0 {
        (u32::MAX, b)
    } else if overflow {
        (b, 0)
    } else if signed {
        (
            (b as i32).wrapping_div(c as i32) as u32,
            (b as i32).wrapping_rem(c as i32) as u32,
        )
    } else {
        (b / c, b % c)
    };
    let top = |v: u32| v >> 31 == 1;
    let (xn, yn, zn, wn) = (
        signed && top(quotient),
        signed && top(c),
        signed && top(remainder),
        signed && top(b),
    );
    let xb = extended_bytes(quotient, xn);
    let yb = extended_bytes(c, yn);
    let zb = extended_bytes(remainder, zn);
    let (w, carries) = product_witness(&xb, &yb, &zb);
    let expected = extended_bytes(b, wn && !overflow);
    assert_eq!(w, expected, "div witness for {op:?} {b:#x} {c:#x}");
    for i in 0..4 {
        row[X + i] = Val::from_u64(xb[i]);
        row[Y + i] = Val::from_u64(yb[i]);
        row[Z + i] = Val::from_u64(zb[i]);
        row[W + i] = Val::from_u64(w[i]);
    }
    for (i, &carry) in carries.iter().enumerate() {
        row[K + i] = Val::from_u64(carry);
    }
    for (column, flag) in [(XN, xn), (YN, yn), (ZN, zn), (WN, wn), (OVF, overflow)] {
        row[column] = Val::from_bool(flag);
    }
    for (column, value) in [(MX, quotient), (MY, c), (MZ, remainder), (MW, b)] {
        row[column] = Val::from_bool(top(value));
    }
    let abs_r = if zn {
        remainder.wrapping_neg()
    } else {
        remainder
    };
    let abs_c = if yn { c.wrapping_neg() } else { c };
    let [rho0, rho1] = negation_carries(remainder);
    let [gam0, gam1] = negation_carries(c);
    row[RHO] = Val::from_bool(zn && rho0);
    row[RHO + 1] = Val::from_bool(zn && rho1);
    row[GAM] = Val::from_bool(yn && gam0);
    row[GAM + 1] = Val::from_bool(yn && gam1);
    row[RABS] = Val::from_u32(abs_r & 0xffff);
    row[RABS + 1] = Val::from_u32(abs_r >> 16);
    row[CABS] = Val::from_u32(abs_c & 0xffff);
    row[CABS + 1] = Val::from_u32(abs_c >> 16);
    let d = if c == 0 { 0 } else { abs_c - abs_r - 1 };
    let beta = c != 0 && (abs_r & 0xffff) + 1 + (d & 0xffff) >= 1 << 16;
    row[DD] = Val::from_u32(d & 0xffff);
    row[DD + 1] = Val::from_u32(d >> 16);
    row[BETA] = Val::from_bool(beta);
    row[CZ] = Val::from_bool(c == 0);
    let y_sum: u32 = (0..4).map(|i| (c >> (8 * i)) & 0xff).sum();
    if y_sum != 0 {
        row[CZINV] = Val::from_u32(y_sum).inverse();
    }

    let msb = |byte: u64, flag: bool| 2 * (byte as u32) - 256 * u32::from(flag);
    counts.byte_pair(msb(xb[3], top(quotient)), msb(yb[3], top(c)));
    counts.byte_pair(msb(zb[3], top(remainder)), msb(w[3], top(b)));
    for bytes in [&xb, &yb, &zb, &w] {
        for i in (0..4).step_by(2) {
            counts.byte_pair(bytes[i] as u32, bytes[i + 1] as u32);
        }
    }
    for &carry in &carries {
        counts.range16(carry as u32);
    }
    for value in [
        abs_r & 0xffff,
        abs_r >> 16,
        abs_c & 0xffff,
        abs_c >> 16,
        d & 0xffff,
        d >> 16,
    ] {
        counts.range16(value);
    }
    match op {
        AluOp::Div | AluOp::Divu => quotient,
        _ => remainder,
    }
}
