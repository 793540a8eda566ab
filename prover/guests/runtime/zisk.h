/* zisk.h: the guest side of the zkVM syscall ABI (see docs/guest-abi.md).
   Syscalls are `ecall` with the number in a7, arguments in a0/a1, result in a0. */
#ifndef ZISK_H
#define ZISK_H

#include <stddef.h>
#include <stdint.h>

#define ZISK_SYSCALL_HALT 0u
#define ZISK_SYSCALL_READ_INPUT 1u
#define ZISK_SYSCALL_COMMIT 2u
/* Most bytes one read_input or commit syscall transfers. */
#define ZISK_MAX_SYSCALL_TRANSFER_BYTES 4096u

static inline uint32_t zisk_syscall2(uint32_t number, uint32_t arg0, uint32_t arg1) {
    register uint32_t a0 __asm__("a0") = arg0;
    register uint32_t a1 __asm__("a1") = arg1;
    register uint32_t a7 __asm__("a7") = number;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
    return a0;
}

/* Ends execution; exit code 0 is success, anything else is a guest fault. */
static inline __attribute__((noreturn)) void zisk_halt(uint32_t exit_code) {
    zisk_syscall2(ZISK_SYSCALL_HALT, exit_code, 0);
    __builtin_unreachable();
}

/* Reads up to `len` input bytes (at most ZISK_MAX_SYSCALL_TRANSFER_BYTES) into `buffer`;
   returns how many, 0 at the end of the input. */
static inline uint32_t zisk_read_input(void *buffer, uint32_t len) {
    return zisk_syscall2(ZISK_SYSCALL_READ_INPUT, (uint32_t)(uintptr_t)buffer, len);
}

/* Reads until `len` bytes or the end of the input; returns how many were read. */
static inline uint32_t zisk_read_input_full(void *buffer, uint32_t len) {
    uint8_t *bytes = (uint8_t *)buffer;
    uint32_t total = 0;
    while (total < len) {
        uint32_t count = zisk_read_input(bytes + total, len - total);
        if (count == 0) {
            break;
        }
        total += count;
    }
    return total;
}

/* Appends `len` bytes at `buffer` to the public output. */
static inline void zisk_commit(const void *buffer, uint32_t len) {
    const uint8_t *bytes = (const uint8_t *)buffer;
    while (len > 0) {
        uint32_t count = zisk_syscall2(ZISK_SYSCALL_COMMIT, (uint32_t)(uintptr_t)bytes, len);
        bytes += count;
        len -= count;
    }
}

static inline void zisk_commit_u32(uint32_t value) {
    zisk_commit(&value, sizeof value);
}

/* The first free address after the program's data and bss (heap start). */
extern uint8_t _end[];

void *memcpy(void *dest, const void *src, size_t len);
void *memmove(void *dest, const void *src, size_t len);
void *memset(void *dest, int value, size_t len);
int memcmp(const void *left, const void *right, size_t len);

#endif
