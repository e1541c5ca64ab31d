#!/bin/sh
# unmapped.sh - a guest reading unclaimed ports and unmapped memory sees all
# ones, and --verbose names each unclaimed access on stderr.
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nasm >/dev/null 2>&1; then
	skip "allones: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/allones.bin
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/allones.asm"; then
	bad "allones.asm does not assemble"
	finish
	exit $?
fi
timeout 60 "$RINGVM" run --kernel "$bin" --mem 64M --debug-exit --verbose \
	>"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
if [ "$rc" -ne 33 ] || [ "$(cat "$TMP/out")" != "$(printf 'all ones\nPASS')" ]; then
	bad "allones: status $rc, output:"
	sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 40
elif ! grep -q 'unclaimed port read 0x1234' "$TMP/err" ||
     ! grep -q 'unclaimed memory read 0x10000000' "$TMP/err"; then
	bad "allones: --verbose did not log the unclaimed accesses:"
	sed 's/^/    /' "$TMP/err" | head -n 20
else
	ok "allones: unclaimed reads see all ones, --verbose logs them"
fi
finish
