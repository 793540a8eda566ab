//! Loads and stores. The address `h = b + imm` comes from the adder; `H_lo = 4 Q + 2 OFF1 +
//! OFF0` splits off the byte offset, and the `mem` port accesses word `Q + 2^14 H_hi` (below
//! 2^30, so its field value is exact). Alignment is required as the emulator requires it.
//! Loads from the text use the read-only space (`RO`); stores never do, so a store into the
//! text cannot balance against the boundary.

use p3_air::WindowAccess;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::InteractionBuilder;

use super::*;
use crate::air::bus::BYTE_PAIR_BUS;
use crate::air::labels::{Ex, constant};

const LOADS: [Flag; 5] = [Flag::Lb, Flag::Lbu, Flag::Lh, Flag::Lhu, Flag::Lw];
const STORES: [Flag; 3] = [Flag::Sb, Flag::Sh, Flag::Sw];

/// Sum of the load and store selectors.
pub(crate) fn memory_selector<E: PrimeCharacteristicRing>(l: &impl Fn(usize) -> E) -> E {
    LOADS.iter().chain(&STORES).map(|&x| l(flag(x))).sum()
}

pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let main = cx.b.main();
    let local = main.current_slice();
    let l = |i: usize| -> Ex<AB> { local[i].into() };
    let k = constant::<AB>;
    let f = |x: Flag| l(flag(x));
    let load: Ex<AB> = LOADS.iter().map(|&x| f(x)).sum();
    let store: Ex<AB> = STORES.iter().map(|&x| f(x)).sum();

    let (o0, o1) = (l(OFF0), l(OFF1));
    // The half selected by OFF1, its bytes, and the byte selected by OFF0.
    cx.zero(
        "cpu: half is the word's half at OFF1",
        l(HALF) - l(MEM) - o1.clone() * (l(MEM + 1) - l(MEM)),
    );
    cx.zero("cpu: half bytes", l(HALF) - l(HB) - l(HB + 1) * k(256));
    cx.zero(
        "cpu: byte is the half's byte at OFF0",
        l(SB) - l(HB) - o0.clone() * (l(HB + 1) - l(HB)),
    );
    cx.send(BYTE_PAIR_BUS, vec![l(HB), l(HB + 1)], l(IS_REAL));

    // Alignment.
    let word = f(Flag::Lw) + f(Flag::Sw);
    cx.zero("cpu: word access is aligned", word.clone() * o0.clone());
    cx.zero("cpu: word access is aligned", word * o1.clone());
    cx.zero(
        "cpu: half access is aligned",
        (f(Flag::Lh) + f(Flag::Lhu) + f(Flag::Sh)) * o0.clone(),
    );

    // Loads leave memory unchanged and extend the selected value into rd.
    for limb in 0..2 {
        cx.zero(
            "cpu: a load does not change memory",
            load.clone() * (l(NEW + limb) - l(MEM + limb)),
        );
        cx.zero(
            "cpu: lw result",
            f(Flag::Lw) * (l(A + limb) - l(MEM + limb)),
        );
    }
    // LMSB is the top bit of the loaded byte (LB) or half (LH), else 0.
    let signed_part = f(Flag::Lb) * l(SB) + f(Flag::Lh) * l(HB + 1);
    cx.send(
        BYTE_PAIR_BUS,
        vec![signed_part * k(2) - l(LMSB) * k(256), Ex::<AB>::ZERO],
        l(IS_REAL),
    );
    let lmsb = l(LMSB);
    cx.zero(
        "cpu: lh/lhu result",
        (f(Flag::Lh) + f(Flag::Lhu)) * (l(A) - l(HALF)),
    );
    cx.zero(
        "cpu: lh result",
        f(Flag::Lh) * (l(A + 1) - lmsb.clone() * k(0xffff)),
    );
    cx.zero("cpu: lhu result", f(Flag::Lhu) * l(A + 1));
    cx.zero(
        "cpu: lb result",
        f(Flag::Lb) * (l(A) - l(SB) - lmsb.clone() * k(0xff00)),
    );
    cx.zero(
        "cpu: lb result",
        f(Flag::Lb) * (l(A + 1) - lmsb * k(0xffff)),
    );
    cx.zero("cpu: lbu result", f(Flag::Lbu) * (l(A) - l(SB)));
    cx.zero("cpu: lbu result", f(Flag::Lbu) * l(A + 1));

    // Stores write RAM only and merge c into the word.
    cx.zero("cpu: stores write RAM, not the text", store * l(RO));
    for limb in 0..2 {
        cx.zero(
            "cpu: sw writes c",
            f(Flag::Sw) * (l(NEW + limb) - l(C + limb)),
        );
    }
    let select = |column: usize| l(column) + o1.clone() * (l(column + 1) - l(column));
    let other = |column: usize| l(column + 1) + o1.clone() * (l(column) - l(column + 1));
    cx.zero(
        "cpu: sh writes c's low half",
        f(Flag::Sh) * (select(NEW) - l(C)),
    );
    cx.zero(
        "cpu: sh/sb keep the other half",
        (f(Flag::Sh) + f(Flag::Sb)) * (other(NEW) - other(MEM)),
    );
    cx.zero(
        "cpu: sb byte of c",
        f(Flag::Sb) * (l(C) - l(CB) - l(CB + 1) * k(256)),
    );
    cx.send(BYTE_PAIR_BUS, vec![l(CB), l(CB + 1)], l(IS_REAL));
    let low_replaced = l(CB) + l(HB + 1) * k(256);
    let high_replaced = l(HB) + l(CB) * k(256);
    cx.zero(
        "cpu: sb writes c's low byte",
        f(Flag::Sb) * (select(NEW) - low_replaced.clone() - o0 * (high_replaced - low_replaced)),
    );
}
