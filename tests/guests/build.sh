#!/bin/sh
# build.sh [OUTDIR] - assemble every test guest into OUTDIR (default build/guests,
# relative to the current directory). Extra nasm options come from $NASMFLAGS,
# e.g. NASMFLAGS="-DWITH_XM -DWITH_IDT64_EC -DWITH_SS_NONCANON" enables the
# checks that follow the SDM where QEMU 7.2 TCG does not (see README.md).
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-build/guests}
mkdir -p "$out"
for src in "$here"/*.asm; do
    name=$(basename "$src" .asm)
    # shellcheck disable=SC2086
    nasm -f bin $NASMFLAGS -I "$here/" -o "$out/$name.bin" "$src"
done
