#!/bin/bash
# check.sh [BUILDDIR] - run every guest in BUILDDIR (default build/guests)
# with $RUNNER (default: run-qemu.sh next to this script; it gets the .bin
# path as its only argument and must print the serial output on stdout) and
# compare output and exit status with NAME.expected / NAME.status.
# For ringvm, set RUNNER to a wrapper; note triple.status (0) is QEMU's
# -no-reboot status: ringvm has its own triple-fault status, so only the
# output is compared for triple.
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-build/guests}
runner=${RUNNER:-$here/run-qemu.sh}
fails=0
for exp in "$here"/*.expected; do
    name=$(basename "$exp" .expected)
    bin=$dir/$name.bin
    out=$("$runner" "$bin" 2>/dev/null); rc=$?
    want=$(head -n1 "$here/$name.status")
    if [ "$out" != "$(cat "$exp")" ]; then
        echo "FAIL $name: output differs"; fails=$((fails + 1))
    elif [ "$name" != triple ] && [ "$rc" != "$want" ]; then
        echo "FAIL $name: status $rc, want $want"; fails=$((fails + 1))
    else
        echo "ok   $name"
    fi
done
exit $((fails != 0))
