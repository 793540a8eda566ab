/* sort: input = little-endian u32 values (the input length must be a multiple of 4, else the
   guest exits with code 1; input that would reach the stack makes it exit with code 2). Output = the same values sorted ascending (heapsort, in place on
   the heap after _end). */
#include "zisk.h"

static void sift_down(uint32_t *values, uint32_t root, uint32_t count) {
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= count) {
            return;
        }
        if (child + 1 < count && values[child] < values[child + 1]) {
            child++;
        }
        if (values[root] >= values[child]) {
            return;
        }
        uint32_t swap = values[root];
        values[root] = values[child];
        values[child] = swap;
        root = child;
    }
}

int main(void) {
    uint8_t *heap = _end;
    uint8_t *limit = (uint8_t *)__builtin_frame_address(0) - 65536;
    uint32_t total = 0;
    for (;;) {
        if (heap + total + ZISK_MAX_SYSCALL_TRANSFER_BYTES > limit) {
            return 2;
        }
        uint32_t count = zisk_read_input(heap + total, ZISK_MAX_SYSCALL_TRANSFER_BYTES);
        if (count == 0) {
            break;
        }
        total += count;
    }
    if (total % 4 != 0) {
        return 1;
    }
    uint32_t *values = (uint32_t *)heap;
    uint32_t count = total / 4;
    for (uint32_t i = count / 2; i-- > 0;) {
        sift_down(values, i, count);
    }
    for (uint32_t end = count; end > 1; end--) {
        uint32_t swap = values[0];
        values[0] = values[end - 1];
        values[end - 1] = swap;
        sift_down(values, 0, end - 1);
    }
    zisk_commit(values, total);
    return 0;
}
