#!/bin/sh
# ends.sh - exit statuses and reports: halted forever (8, with a register
# dump), a 32-bit debug-exit value, SIGINT/SIGTERM (10), --stats.
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nasm >/dev/null 2>&1; then
	skip "ends: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/ends.bin
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/ends.asm"; then
	bad "ends.asm does not assemble"
	finish
	exit $?
fi

run() { timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }

# A dump has the general registers, RIP/RFLAGS, segments, tables and control registers.
has_dump() {
	for pat in '^RAX=' '^RIP=[0-9a-f]{16} RFLAGS=' '^CS =0008 base=' '^TR =' '^GDT=' '^IDT=' '^CR0=' 'EFER='; do
		grep -Eq "$pat" "$TMP/err" || return 1
	done
}

run --append halt
rc=$?
if [ "$rc" -eq 8 ] && grep -q 'halted with interrupts disabled' "$TMP/err" && has_dump; then
	ok "cli; hlt: status 8 with a register dump"
else
	bad "cli; hlt: status $rc"; sed 's/^/    /' "$TMP/err" | head -n 30
fi

run --append sti
rc=$?
if [ "$rc" -eq 8 ] && grep -q 'no device can raise' "$TMP/err" && grep -q 'RFLAGS=.* IF ' "$TMP/err"; then
	ok "sti; hlt: status 8 (no interrupt source)"
else
	bad "sti; hlt: status $rc"; sed 's/^/    /' "$TMP/err" | head -n 30
fi

run --append exit32
rc=$?
if [ "$rc" -eq $(( ((0x12345678 << 1) | 1) & 0xff )) ] && [ ! -s "$TMP/err" ]; then
	ok "debug-exit with a 32-bit value: status $rc"
else
	bad "debug-exit 0x12345678: status $rc"; sed 's/^/    /' "$TMP/err" | head -n 10
fi

for sig in INT TERM; do
	"$RINGVM" run --kernel "$bin" --append spin --stats >"$TMP/out" 2>"$TMP/err" </dev/null &
	pid=$!
	sleep 1
	kill -s $sig $pid
	# give it 10 s to stop on its own
	n=0
	while kill -0 $pid 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		bad "SIG$sig: ringvm did not stop"
		continue
	fi
	wait $pid
	rc=$?
	if [ "$rc" -eq 10 ] && grep -q 'stopped by signal' "$TMP/err" &&
	   grep -Eq '^ringvm: stats: [0-9]+ instructions in [0-9.]+ s = [0-9.]+ MIPS' "$TMP/err"; then
		ok "SIG$sig: status 10, $(grep stats: "$TMP/err")"
	else
		bad "SIG$sig: status $rc"; sed 's/^/    /' "$TMP/err" | head -n 10
	fi
done
finish
