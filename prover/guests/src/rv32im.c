/* rv32im: executes every RV32IM instruction through inline assembly on edge-case operands and
   commits every result as a little-endian u32, in the order below. The host test
   (tests/guests.rs) recomputes the same list from the specification. No input. */
#include "zisk.h"

#define MAX_RESULTS 1024
static uint32_t results[MAX_RESULTS];
static uint32_t result_count;

static void put(uint32_t value) {
    if (result_count < MAX_RESULTS) {
        results[result_count++] = value;
    }
}

/* Operand pairs for register-register instructions and branches. Read through a volatile
   pointer so that nothing is folded at compile time. */
#define PAIR_COUNT 12
static const uint32_t PAIRS[PAIR_COUNT][2] = {
    {0, 0},
    {1, 0xffffffff},
    {0x80000000, 0xffffffff},
    {0x7fffffff, 1},
    {0x12345678, 0x9abcdef0},
    {0xffffffff, 0xffffffff},
    {5, 0},
    {0x80000000, 0},
    {0xdeadbeef, 33},
    {7, 0xfffffffd},
    {0xfffffff9, 2},
    {0x80000000, 0x80000000},
};

#define RR(op)                                                                   \
    for (int i = 0; i < PAIR_COUNT; i++) {                                       \
        uint32_t a = ((volatile const uint32_t *)PAIRS[i])[0];                   \
        uint32_t b = ((volatile const uint32_t *)PAIRS[i])[1];                   \
        uint32_t r;                                                              \
        __asm__ volatile(#op " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));          \
        put(r);                                                                  \
    }

#define BRANCH(op)                                                               \
    for (int i = 0; i < PAIR_COUNT; i++) {                                       \
        uint32_t a = ((volatile const uint32_t *)PAIRS[i])[0];                   \
        uint32_t b = ((volatile const uint32_t *)PAIRS[i])[1];                   \
        uint32_t taken;                                                          \
        __asm__ volatile("li %0, 1\n\t" #op " %1, %2, 1f\n\t"                    \
                         "li %0, 0\n"                                            \
                         "1:"                                                    \
                         : "=&r"(taken)                                          \
                         : "r"(a), "r"(b));                                      \
        put(taken);                                                              \
    }

/* Values for register-immediate instructions. */
#define VALUE_COUNT 6
static const uint32_t VALUES[VALUE_COUNT] = {
    0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x00000800,
};

#define RI_ONE(op, imm)                                                          \
    for (int i = 0; i < VALUE_COUNT; i++) {                                      \
        uint32_t a = ((volatile const uint32_t *)VALUES)[i];                     \
        uint32_t r;                                                              \
        __asm__ volatile(#op " %0, %1, " #imm : "=r"(r) : "r"(a));               \
        put(r);                                                                  \
    }

#define RI(op)                                                                   \
    RI_ONE(op, 0)                                                                \
    RI_ONE(op, 1)                                                                \
    RI_ONE(op, -1)                                                               \
    RI_ONE(op, 2047)                                                             \
    RI_ONE(op, -2048)

#define SHIFT_I(op)                                                              \
    RI_ONE(op, 0)                                                                \
    RI_ONE(op, 1)                                                                \
    RI_ONE(op, 4)                                                                \
    RI_ONE(op, 31)

static uint8_t memory_bytes[16] __attribute__((aligned(16))) = {
    0x80, 0x7f, 0xff, 0x01, 0x34, 0x12, 0x00, 0x80, 0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0,
};

#define LOAD(op, offset)                                                         \
    {                                                                            \
        uint32_t r;                                                              \
        __asm__ volatile(#op " %0, " #offset "(%1)"                              \
                         : "=r"(r)                                               \
                         : "r"(memory_bytes)                                     \
                         : "memory");                                            \
        put(r);                                                                  \
    }

#define STORE(op, offset, value)                                                 \
    {                                                                            \
        uint32_t v = (value);                                                    \
        __asm__ volatile(#op " %0, " #offset "(%1)"                              \
                         :                                                       \
                         : "r"(v), "r"(memory_bytes)                             \
                         : "memory");                                            \
    }

int main(void) {
    /* 1. Register-register: 18 instructions x 12 pairs. */
    RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
    RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)

    /* 2. Register-immediate: 6 instructions x 5 immediates x 6 values, then 3 shifts x 4
       amounts x 6 values. */
    RI(addi) RI(slti) RI(sltiu) RI(xori) RI(ori) RI(andi)
    SHIFT_I(slli) SHIFT_I(srli) SHIFT_I(srai)

    /* 3. Branches: 6 instructions x 12 pairs, 1 if taken. */
    BRANCH(beq) BRANCH(bne) BRANCH(blt) BRANCH(bge) BRANCH(bltu) BRANCH(bgeu)

    /* 4. Loads at every aligned offset of the first 8 bytes. */
    LOAD(lb, 0) LOAD(lb, 1) LOAD(lb, 2) LOAD(lb, 3) LOAD(lb, 7)
    LOAD(lbu, 0) LOAD(lbu, 1) LOAD(lbu, 2) LOAD(lbu, 3) LOAD(lbu, 7)
    LOAD(lh, 0) LOAD(lh, 2) LOAD(lh, 4) LOAD(lh, 6)
    LOAD(lhu, 0) LOAD(lhu, 2) LOAD(lhu, 4) LOAD(lhu, 6)
    LOAD(lw, 0) LOAD(lw, 4) LOAD(lw, 8)

    /* 5. Stores, then the words read back. */
    STORE(sb, 12, 0x1234abcd) STORE(sb, 13, 0xff) STORE(sh, 14, 0xfedc8765)
    LOAD(lw, 12)
    STORE(sw, 12, 0x89abcdef) STORE(sh, 12, 0x5555) STORE(sb, 15, 0x66)
    LOAD(lw, 12)

    /* 6. LUI, AUIPC, JAL, JALR: each check is 0 on success. */
    {
        uint32_t r;
        __asm__ volatile("lui %0, 0xfffff" : "=r"(r));
        put(r);
        __asm__ volatile("lui %0, 0x12345" : "=r"(r));
        put(r);
        uint32_t here, there;
        __asm__ volatile("1: auipc %0, 0\n\tla %1, 1b" : "=r"(here), "=r"(there));
        put(here - there);
        __asm__ volatile("auipc %0, 1\n\t2: la %1, 2b" : "=r"(here), "=r"(there));
        put(here + 4 - there - 0x1000);
        uint32_t link;
        __asm__ volatile("jal %0, 3f\n\tli %1, 99\n3: la %1, 3b" : "=r"(link), "=&r"(there));
        put(link + 4 - there);
        __asm__ volatile("la %1, 4f\n\tjalr %0, 0(%1)\n\tnop\n4: la %1, 4b"
                         : "=&r"(link), "=&r"(there));
        put(link + 4 - there);
        /* JALR clears bit 0 of the target. */
        __asm__ volatile("la %1, 5f + 1\n\tjalr %0, 0(%1)\n\tnop\n5: la %1, 5b"
                         : "=&r"(link), "=&r"(there));
        put(link + 4 - there);
        /* JALR with rd = rs1: the link is written after the target is read. */
        __asm__ volatile("la %0, 6f\n\tjalr %0, 0(%0)\n\tnop\n6: la %1, 6b"
                         : "=&r"(link), "=&r"(there));
        put(link + 4 - there);
    }

    /* 7. x0 stays zero; FENCE does nothing. */
    {
        uint32_t r;
        __asm__ volatile("addi x0, x0, 5\n\tlui x0, 1\n\tmv %0, x0" : "=r"(r));
        put(r);
        __asm__ volatile("fence\n\tfence rw, rw\n\tfence.tso\n\tli %0, 7" : "=r"(r));
        put(r);
    }

    zisk_commit(results, result_count * 4);
    return 0;
}
