//! The shared 32-bit adder and everything that uses it (ADD, SUB, addresses, JALR targets,
//! comparisons), branches, LUI/AUIPC, JAL/JALR links, SLT, and the ALU and syscall dispatch.
//!
//! The adder is `x + y = z + 2^32 * CARRY1` in 16-bit limbs with boolean carries; each family
//! picks `(x, y, z)` from its columns:
//!
//! | family | x | y | z |
//! |---|---|---|---|
//! | ADD/ADDI | b | c | a |
//! | SUB | a | c | b |
//! | address (loads, stores, JALR) | b | imm | h |
//! | unsigned compare (SLTU, BLTU, BGEU, BEQ, BNE) | c | h | b |
//! | signed compare (SLT, BLT, BGE) | c ^ 2^31 | h | b ^ 2^31 |
//!
//! For compares `h = b - c` and `CARRY1 = [b < c]`. Every `z` is range checked (a by the rd
//! write, h here, b by the register file), so the carries are forced.

use p3_air::WindowAccess;
use p3_lookup::InteractionBuilder;

use super::*;
use crate::air::bus::{ALU_BUS, RANGE16_BUS, SYSCALL_BUS};
use crate::air::labels::{Ex, constant};

/// An adder family: name, selector, and the limbs of `x`, `y`, `z`.
type Family<E> = (&'static str, E, [E; 2], [E; 2], [E; 2]);

pub(crate) fn eval<AB: InteractionBuilder<F = Val>, L: Labels>(cx: &mut Cx<'_, AB, L>) {
    let main = cx.b.main();
    let local = main.current_slice();
    let l = |i: usize| -> Ex<AB> { local[i].into() };
    let k = constant::<AB>;
    let f = |x: Flag| l(flag(x));

    let unsigned_compare =
        f(Flag::Sltu) + f(Flag::Bltu) + f(Flag::Bgeu) + f(Flag::Beq) + f(Flag::Bne);
    let signed_compare = f(Flag::Slt) + f(Flag::Blt) + f(Flag::Bge);
    let address = memory::memory_selector(&l) + f(Flag::Jalr);
    let imm = |limb: usize| l(rom(program::IMM_LO) + limb);
    // Operands with their sign bit flipped: signed order is unsigned order of these.
    let flipped_hi = |column: usize, msb: usize| l(column + 1) + k(1 << 15) - l(msb) * k(1 << 16);

    // (selector, x, y, z) per family; limb 0 then limb 1.
    let families: [Family<Ex<AB>>; 5] = [
        (
            "cpu: add",
            f(Flag::Add),
            [l(B), l(B + 1)],
            [l(C), l(C + 1)],
            [l(A), l(A + 1)],
        ),
        (
            "cpu: sub",
            f(Flag::Sub),
            [l(A), l(A + 1)],
            [l(C), l(C + 1)],
            [l(B), l(B + 1)],
        ),
        (
            "cpu: address",
            address.clone(),
            [l(B), l(B + 1)],
            [imm(0), imm(1)],
            [l(H), l(H + 1)],
        ),
        (
            "cpu: unsigned compare",
            unsigned_compare.clone(),
            [l(C), l(C + 1)],
            [l(H), l(H + 1)],
            [l(B), l(B + 1)],
        ),
        (
            "cpu: signed compare",
            signed_compare.clone(),
            [l(C), flipped_hi(C, C_MSB)],
            [l(H), l(H + 1)],
            [l(B), flipped_hi(B, B_MSB)],
        ),
    ];
    for (name, selector, [x0, x1], [y0, y1], [z0, z1]) in families {
        cx.zero(
            name,
            selector.clone() * (x0 + y0 - z0 - l(CARRY) * k(1 << 16)),
        );
        cx.zero(
            name,
            selector * (x1 + y1 + l(CARRY) - z1 - l(CARRY + 1) * k(1 << 16)),
        );
    }
    let uses_h = address.clone() + unsigned_compare.clone() + signed_compare.clone();
    cx.send(RANGE16_BUS, vec![l(H)], uses_h.clone());
    cx.send(RANGE16_BUS, vec![l(H + 1)], uses_h);
    // Two shared range-check slots: the operand signs of a signed compare (v = 2 limb - 2^16
    // msb is in range iff msb is the top bit), the word offset Q of an address
    // (H_lo = 4 Q + 2 OFF1 + OFF0 with Q < 2^16 forces the decomposition) and, for JALR,
    // 4 H_hi (so the target is below 2^30 and its field value is exact).
    let sign_check = |column: usize, msb: usize| l(column + 1) * k(2) - l(msb) * k(1 << 16);
    cx.send(
        RANGE16_BUS,
        vec![signed_compare.clone() * sign_check(B, B_MSB) + address.clone() * l(Q)],
        l(IS_REAL),
    );
    cx.send(
        RANGE16_BUS,
        vec![signed_compare * sign_check(C, C_MSB) + f(Flag::Jalr) * l(H + 1) * k(4)],
        l(IS_REAL),
    );
    cx.zero(
        "cpu: address offset decomposition",
        address * (l(H) - l(Q) * k(4) - l(OFF1) * k(2) - l(OFF0)),
    );

    // Branches: b == c iff h = b - c is 0.
    let beq_bne = f(Flag::Beq) + f(Flag::Bne);
    let h_sum = l(H) + l(H + 1);
    cx.zero(
        "cpu: eq implies b == c",
        beq_bne.clone() * l(EQ) * h_sum.clone(),
    );
    cx.zero(
        "cpu: b == c implies eq",
        beq_bne * (k(1) - l(EQ) - h_sum * l(EQ_INV)),
    );
    let lt = l(CARRY + 1);
    let taken = f(Flag::Beq) * l(EQ)
        + f(Flag::Bne) * (k(1) - l(EQ))
        + (f(Flag::Blt) + f(Flag::Bltu)) * lt.clone()
        + (f(Flag::Bge) + f(Flag::Bgeu)) * (k(1) - lt.clone());
    cx.zero("cpu: branch taken", l(TAKEN) - taken);

    // rd values.
    let set_lt = f(Flag::Slt) + f(Flag::Sltu);
    cx.zero("cpu: slt result", set_lt.clone() * (l(A) - lt));
    cx.zero("cpu: slt result", set_lt * l(A + 1));
    for limb in 0..2 {
        cx.zero(
            "cpu: lui/auipc result",
            f(Flag::Lui) * (l(A + limb) - imm(limb)),
        );
    }
    cx.zero(
        "cpu: jal/jalr link",
        (f(Flag::Jal) + f(Flag::Jalr)) * (l(A) + l(A + 1) * k(1 << 16) - l(PC) - k(4)),
    );
    cx.zero("cpu: jalr target is aligned", f(Flag::Jalr) * l(OFF1));
    let rd_write = l(rom(program::RD_WRITE));
    cx.send(RANGE16_BUS, vec![l(A)], rd_write.clone());
    cx.send(RANGE16_BUS, vec![l(A + 1)], rd_write);

    // Dispatch.
    cx.send(
        ALU_BUS,
        vec![
            l(rom(program::ALU_OP)),
            l(A),
            l(A + 1),
            l(B),
            l(B + 1),
            l(C),
            l(C + 1),
        ],
        f(Flag::Alu),
    );
    cx.zero(
        "cpu: only an ecall halts",
        l(IS_HALT) * (k(1) - f(Flag::Ecall)),
    );
    for limb in 0..2 {
        cx.zero(
            "cpu: halt keeps a0",
            l(IS_HALT) * (l(A + limb) - l(RD_PREV + limb)),
        );
    }
    cx.send(
        SYSCALL_BUS,
        vec![
            l(CYCLE),
            l(IS_HALT),
            l(B),
            l(B + 1),
            l(C),
            l(C + 1),
            l(RD_PREV),
            l(RD_PREV + 1),
            l(A),
            l(A + 1),
        ],
        f(Flag::Ecall),
    );
}
