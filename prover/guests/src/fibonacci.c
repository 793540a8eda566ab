/* fibonacci: input = n as a little-endian u32 (missing bytes read as 0).
   Output = n (u32 LE) then fib(n) mod 2^64 (u64 LE), with fib(0) = 0, fib(1) = 1. */
#include "zisk.h"

int main(void) {
    uint32_t n = 0;
    zisk_read_input_full(&n, sizeof n);
    uint64_t previous = 0;
    uint64_t current = 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t next = previous + current;
        previous = current;
        current = next;
    }
    zisk_commit_u32(n);
    zisk_commit(&previous, sizeof previous);
    return 0;
}
