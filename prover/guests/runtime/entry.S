# Guest entry point. The zkVM starts here with sp = end of guest memory and every other
# register 0; bss is already zero (the loader zero-fills p_memsz beyond p_filesz).
# main's return value becomes the exit code of the halt syscall (0 = success).

    .section .text.entry, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    andi sp, sp, -16
    call main
    li a7, 0            # ZISK_SYSCALL_HALT, exit code in a0
    ecall
1:  j 1b                # not reached: halt never returns
    .size _start, . - _start
