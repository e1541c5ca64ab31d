#!/bin/sh
# serial.sh - COM1 input from ringvm's standard input (a pipe, not a
# terminal) through RX interrupts on IRQ 4, output by THR-empty interrupts,
# a line longer than the 16-byte FIFO, and the 8042 reset (reboot status 14).
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nasm >/dev/null 2>&1; then
	skip "serial: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/serial.bin
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/serial.asm"; then
	bad "serial.asm does not assemble"
	finish
	exit $?
fi

printf 'hello world\n' | timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 33 ] && [ "$(cat "$TMP/out")" = "$(printf 'got: hello world\nPASS')" ]; then
	ok "stdin pipe -> COM1 RX interrupts -> THRE-interrupt echo"
else
	bad "echo: status $rc"; sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 10
fi

long=$(printf '%0150d' 0)
printf '%s\n' "$long" | timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 33 ] && [ "$(head -n 1 "$TMP/out")" = "got: $long" ]; then
	ok "150-byte line through the 16-byte FIFO, nothing lost"
else
	bad "long line: status $rc"; sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 10
fi

printf 'r\n' | timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit --no-reboot >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ "$rc" -eq 14 ] && grep -q 'reset the machine' "$TMP/err"; then
	ok "8042 reset command 0xFE: status 14 (reboot)"
else
	bad "reset: status $rc"; sed 's/^/    /' "$TMP/err" | head -n 10
fi
finish
