#!/bin/sh
# reboot.sh - guest-requested resets: the guest (reboot.asm) counts its boots
# in CMOS RAM and resets twice (8042 0xFE, then port 0x92); ringvm must
# restart it each time (the serial output of all three boots, then PASS),
# as QEMU without -no-reboot does. With --no-reboot the first reset ends
# ringvm with status 14.
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nasm >/dev/null 2>&1; then
	skip "reboot: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/reboot.bin
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/reboot.asm"; then
	bad "reboot.asm does not assemble"
	finish
	exit $?
fi
want=$(printf 'boot 1\nboot 2\nboot 3\nPASS')

timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
if [ "$rc" -eq 33 ] && [ "$(cat "$TMP/out")" = "$want" ]; then
	ok "two guest resets (8042, port 0x92): rebooted twice, CMOS kept, PASS"
else
	bad "reboot: status $rc"; sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 10
fi

timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit --no-reboot >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
if [ "$rc" -eq 14 ] && [ "$(cat "$TMP/out")" = "boot 1" ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
   grep -q '^ringvm: .*reset the machine' "$TMP/err"; then
	ok "--no-reboot: the first reset ends ringvm with status 14"
else
	bad "--no-reboot: status $rc"; sed 's/^/    /' "$TMP/out" "$TMP/err" | head -n 10
fi

# QEMU as the oracle: the same command line as tests/guests/run-qemu.sh, without -no-reboot.
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	printf '\0' >"$TMP/sercon0"
	timeout 60 qemu-system-x86_64 -machine pc -cpu max -m 128 -nographic \
		-display none -serial stdio -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,file="$TMP/sercon0" \
		-kernel "$bin" </dev/null >"$TMP/qout" 2>/dev/null
	rc=$?
	if [ "$rc" -eq 33 ] && [ "$(cat "$TMP/qout")" = "$want" ]; then
		ok "QEMU boots the guest three times too, same output"
	else
		bad "QEMU: status $rc"; sed 's/^/    /' "$TMP/qout" | head -n 10
	fi
else
	skip "reboot: qemu-system-x86_64 is not installed"
fi
finish
