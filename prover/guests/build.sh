#!/usr/bin/env bash
# Rebuilds the guest ELFs in bin/ from src/*.c and the runtime in runtime/.
#
#   ./build.sh           rebuild bin/*.elf
#   ./build.sh --check   build into a temporary folder and compare with the committed bin/*.elf
#                        (exit 1 on any difference)
#
# Needs Debian's clang and lld (apt-get install -y clang lld). CLANG and LLD override the
# tools. The ELFs are byte-for-byte reproducible with the same toolchain version.
set -euo pipefail
cd "$(dirname "$0")"

CLANG=${CLANG:-clang}
LLD=${LLD:-ld.lld}
CFLAGS=(
    --target=riscv32-unknown-elf -march=rv32im -mabi=ilp32 -nostdlib -ffreestanding -O2
    -mno-relax -fno-pic -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident
    -ffunction-sections -fdata-sections -Wall -Wextra -Werror -Iruntime
)
LDFLAGS=(-T runtime/link.ld --gc-sections --build-id=none -static --no-relax)

mode=build
case "${1:-}" in
    "") ;;
    --check) mode=check ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=bin
if [ "$mode" = check ]; then
    out=$work/bin
fi
mkdir -p "$out" "$work/obj"

"$CLANG" "${CFLAGS[@]}" -c runtime/entry.S -o "$work/obj/entry.o"
"$CLANG" "${CFLAGS[@]}" -c runtime/string.c -o "$work/obj/string.o"
for source in src/*.c; do
    name=$(basename "$source" .c)
    "$CLANG" "${CFLAGS[@]}" -c "$source" -o "$work/obj/$name.o"
    "$LLD" "${LDFLAGS[@]}" -o "$out/$name.elf" "$work/obj/entry.o" "$work/obj/$name.o" \
        "$work/obj/string.o"
done

if [ "$mode" = check ]; then
    status=0
    for built in "$out"/*.elf; do
        name=$(basename "$built")
        if ! cmp -s "$built" "bin/$name"; then
            echo "differs from the committed ELF: bin/$name" >&2
            status=1
        fi
    done
    for committed in bin/*.elf; do
        if [ ! -e "$out/$(basename "$committed")" ]; then
            echo "committed ELF without a source: $committed" >&2
            status=1
        fi
    done
    if [ "$status" = 0 ]; then
        echo "all guest ELFs are reproducible"
    fi
    exit "$status"
fi
echo "built: $(cd bin && ls *.elf | tr '\n' ' ')"
