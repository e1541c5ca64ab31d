#!/bin/sh
# guests.sh - build the test guests of tests/guests into $BUILD/guests, run
# each under ringvm (--debug-exit; bios.bin as --bios), and compare the
# serial output with NAME.expected and the exit status with NAME.status.
# With qemu-system-x86_64 installed each guest also runs under QEMU
# (tests/guests/run-qemu.sh) and the two outputs must be identical.
# NAME.status holds QEMU's status; QEMU's 0 (triple fault with -no-reboot)
# is ringvm's triple-fault status 4 for the triple guest (poweroff's 0, an
# ACPI S5, is 0 under both). A guest with no .expected, or whose
# binary did not build, is a skip, not a pass. Each guest runs on both
# engines of --engine soft: the translator (the default) and, with
# --interpreter, the reference; both must give the expected output and status.
. "$(dirname "$0")/testlib"

src=$(cd "$(dirname "$0")/../guests" && pwd)
out=$BUILD/guests
TIMEOUT=${GUEST_TIMEOUT:-300}
STATUS_TRIPLE_FAULT=4

if ! command -v nasm >/dev/null 2>&1; then
	skip "all guests: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$out"
# Assemble each guest on its own, so one that does not build skips only itself.
for asm in "$src"/*.asm; do
	name=$(basename "$asm" .asm)
	if ! nasm -f bin -I "$src/" -o "$out/$name.bin" "$asm" 2>"$TMP/nasm-$name"; then
		rm -f "$out/$name.bin"
	fi
done
have_qemu=false
command -v qemu-system-x86_64 >/dev/null 2>&1 && have_qemu=true

for asm in "$src"/*.asm; do
	name=$(basename "$asm" .asm)
	bin=$out/$name.bin
	exp=$src/$name.expected
	if [ ! -f "$exp" ]; then
		skip "$name: no $name.expected"
		continue
	fi
	if [ ! -f "$bin" ]; then
		skip "$name: $name.bin did not assemble: $(head -n 1 "$TMP/nasm-$name")"
		continue
	fi
	want=33
	[ -f "$src/$name.status" ] && want=$(head -n 1 "$src/$name.status")
	qemu_want=$want
	[ "$want" = 0 ] && [ "$name" = triple ] && want=$STATUS_TRIPLE_FAULT

	case $name in
	bios) load="--bios" ;;
	*)    load="--kernel" ;;
	esac
	# NAME.args: extra ringvm options (run-qemu.sh maps them for QEMU)
	args=
	[ -f "$src/$name.args" ] && args=$(head -n 1 "$src/$name.args")
	timeout "$TIMEOUT" "$RINGVM" run $load "$bin" --debug-exit $args \
		>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
	if ! cmp -s "$TMP/$name.out" "$exp"; then
		bad "$name: serial output differs from $name.expected (status $rc):"
		diff "$exp" "$TMP/$name.out" | head -n 20 | sed 's/^/    /'
		sed 's/^/    stderr: /' "$TMP/$name.err" | head -n 30
		continue
	fi
	if [ "$rc" != "$want" ]; then
		bad "$name: status $rc, want $want"
		sed 's/^/    stderr: /' "$TMP/$name.err" | head -n 30
		continue
	fi
	timeout "$TIMEOUT" "$RINGVM" run $load "$bin" --debug-exit --interpreter $args \
		>"$TMP/$name.interp" 2>"$TMP/$name.interp-err" </dev/null
	irc=$?
	if ! cmp -s "$TMP/$name.interp" "$exp" || [ "$irc" != "$want" ]; then
		bad "$name: the interpreter differs from $name.expected (status $irc, want $want):"
		diff "$exp" "$TMP/$name.interp" | head -n 20 | sed 's/^/    /'
		sed 's/^/    stderr: /' "$TMP/$name.interp-err" | head -n 30
		continue
	fi
	if $have_qemu; then
		"$src/run-qemu.sh" "$bin" >"$TMP/$name.qemu" 2>/dev/null
		qrc=$?
		if ! cmp -s "$TMP/$name.out" "$TMP/$name.qemu"; then
			bad "$name: ringvm and QEMU print different things (QEMU status $qrc):"
			diff "$TMP/$name.qemu" "$TMP/$name.out" | head -n 20 | sed 's/^/    /'
			continue
		fi
		if [ "$qrc" != "$qemu_want" ]; then
			bad "$name: QEMU status $qrc, want $qemu_want"
			continue
		fi
		ok "$name (status $rc on both engines, same output as QEMU)"
	else
		ok "$name (status $rc on both engines; QEMU not installed, not compared)"
	fi
done
$have_qemu || echo "note: qemu-system-x86_64 not found: outputs not compared with QEMU"
finish
