/* The few libc functions the compiler may call on its own. `no_builtin` keeps clang from
   turning these loops back into calls to themselves. */
#include "zisk.h"

__attribute__((no_builtin)) void *memcpy(void *dest, const void *src, size_t len) {
    uint8_t *d = dest;
    const uint8_t *s = src;
    while (len--) {
        *d++ = *s++;
    }
    return dest;
}

__attribute__((no_builtin)) void *memmove(void *dest, const void *src, size_t len) {
    uint8_t *d = dest;
    const uint8_t *s = src;
    if (d < s) {
        while (len--) {
            *d++ = *s++;
        }
    } else {
        while (len--) {
            d[len] = s[len];
        }
    }
    return dest;
}

__attribute__((no_builtin)) void *memset(void *dest, int value, size_t len) {
    uint8_t *d = dest;
    while (len--) {
        *d++ = (uint8_t)value;
    }
    return dest;
}

__attribute__((no_builtin)) int memcmp(const void *left, const void *right, size_t len) {
    const uint8_t *l = left;
    const uint8_t *r = right;
    for (size_t i = 0; i < len; i++) {
        if (l[i] != r[i]) {
            return l[i] < r[i] ? -1 : 1;
        }
    }
    return 0;
}
