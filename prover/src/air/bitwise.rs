//! The bitwise table: XOR, OR, AND and their immediate forms, one row per instruction.
//!
//! Each byte pair `(b_i, c_i)` is looked up in the `byte_and` table, which gives `n_i = b_i &
//! c_i` and proves both are bytes; then `b ^ c = b + c - 2 n`, `b | c = b + c - n`.

use p3_air::WindowAccess;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::Val;
use super::bus::{ALU_BUS, BYTE_AND_BUS};
use super::labels::{Cx, Ex, Labels, constant};
pub(crate) use super::layout::bitwise::*;
use super::program::AluOp;

/// The bitwise table.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BitwiseTable;

impl BitwiseTable {
    pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(&self, cx: &mut Cx<'_, AB, L>) {
        let main = cx.b.main();
        let local = main.current_slice();
        let l = |i: usize| -> Ex<AB> { local[i].into() };
        let k = constant::<AB>;
        for (name, column) in [
            ("bitwise: xor is boolean", XOR),
            ("bitwise: or is boolean", OR),
            ("bitwise: and is boolean", AND),
        ] {
            cx.boolean(name, l(column));
        }
        let active = l(XOR) + l(OR) + l(AND);
        cx.boolean("bitwise: one operation per row", active.clone());
        let result = |i: usize| {
            l(XOR) * (l(B + i) + l(C + i) - l(N + i) * k(2))
                + l(OR) * (l(B + i) + l(C + i) - l(N + i))
                + l(AND) * l(N + i)
        };
        let limb =
            |column: usize, half: usize| l(column + 2 * half) + l(column + 2 * half + 1) * k(256);
        let op = l(XOR) * k(AluOp::Xor as u32)
            + l(OR) * k(AluOp::Or as u32)
            + l(AND) * k(AluOp::And as u32);
        cx.receive(
            ALU_BUS,
            vec![
                op,
                result(0) + result(1) * k(256),
                result(2) + result(3) * k(256),
                limb(B, 0),
                limb(B, 1),
                limb(C, 0),
                limb(C, 1),
            ],
            active.clone(),
        );
        for i in 0..4 {
            cx.send(
                BYTE_AND_BUS,
                vec![l(B + i), l(C + i), l(N + i)],
                active.clone(),
            );
        }
    }
}

/// Fills a bitwise row for `op` on `b`, `c`; the caller counts the `byte_and` lookups.
pub(crate) fn fill_row(row: &mut [Val], op: AluOp, b: u32, c: u32) {
    let flag = match op {
        AluOp::Xor => XOR,
        AluOp::Or => OR,
        AluOp::And => AND,
        _ => unreachable!("not a bitwise operation: {op:?}"),
    };
    row[flag] = Val::ONE;
    for i in 0..4 {
        let (bi, ci) = ((b >> (8 * i)) & 0xff, (c >> (8 * i)) & 0xff);
        row[B + i] = Val::from_u32(bi);
        row[C + i] = Val::from_u32(ci);
        row[N + i] = Val::from_u32(bi & ci);
    }
}
