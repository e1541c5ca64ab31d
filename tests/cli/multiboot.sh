#!/bin/sh
# multiboot.sh - the multiboot information a guest receives: magic, command
# line "KERNEL APPEND", module 0 (--initrd), mem_lower/upper and the memory
# map. Compared with ringvm's expected values, and (lines that do not depend
# on the firmware's memory layout) with QEMU's when it is installed.
. "$(dirname "$0")/testlib"

here=$(cd "$(dirname "$0")" && pwd)
if ! command -v nasm >/dev/null 2>&1; then
	skip "mbinfo: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$BUILD/cli"
bin=$BUILD/cli/mbinfo.bin
mod=$TMP/mod.img
if ! nasm -f bin -I "$here/../guests/" -o "$bin" "$here/mbinfo.asm"; then
	bad "mbinfo.asm does not assemble"
	finish
	exit $?
fi
printf 'INITRD-CONTENTS-0123456789' >"$mod"

# 64M: 640 KiB low, 63 MiB from 1 MiB (no firmware takes any of it).
cat >"$TMP/want" <<EOT
magic 2badb002
flags 0000004d
mem_lower 00000280 mem_upper 0000fc00
cmdline '$bin hello world'
mods 00000001
mod0 '$mod' size 0000001a page-aligned 00000000 starts 'INITRD-C'
ram 00000000 len 000a0000
ram 00100000 len 03f00000
PASS
EOT
timeout 60 "$RINGVM" run --kernel "$bin" --mem 64M --append "hello world" --initrd "$mod" \
	--debug-exit >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
if [ "$rc" -eq 33 ] && cmp -s "$TMP/want" "$TMP/out"; then
	ok "mbinfo with --append and --initrd"
else
	bad "mbinfo with --append and --initrd: status $rc"
	diff "$TMP/want" "$TMP/out" | sed 's/^/    /'
	sed 's/^/    stderr: /' "$TMP/err" | head -n 20
fi

# Without --append the command line is the path and a space, as with QEMU.
timeout 60 "$RINGVM" run --kernel "$bin" --debug-exit >"$TMP/out2" 2>"$TMP/err2" </dev/null
rc=$?
if [ "$rc" -eq 33 ] && grep -qx "cmdline '$bin '" "$TMP/out2" && grep -qx "mods 00000000" "$TMP/out2"; then
	ok "mbinfo without --append and --initrd"
else
	bad "mbinfo without --append: status $rc"
	sed 's/^/    /' "$TMP/out2" "$TMP/err2" | head -n 20
fi

if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	printf '\0' >"$TMP/sercon0"
	timeout 60 qemu-system-x86_64 -machine pc -cpu max -m 64 -nographic \
		-no-reboot -display none -serial stdio -monitor none \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-fw_cfg name=etc/sercon-port,file="$TMP/sercon0" \
		-kernel "$bin" -append "hello world" -initrd "$mod" \
		</dev/null >"$TMP/qemu" 2>/dev/null
	# SeaBIOS keeps the EBDA and ACPI tables out of RAM: leave those lines out.
	grep -v -e '^mem_lower' -e '^ram ' "$TMP/qemu" >"$TMP/qemu.cmp"
	grep -v -e '^mem_lower' -e '^ram ' "$TMP/out" >"$TMP/out.cmp"
	if cmp -s "$TMP/qemu.cmp" "$TMP/out.cmp"; then
		ok "mbinfo matches QEMU (magic, flags, cmdline, module)"
	else
		bad "mbinfo differs from QEMU:"
		diff "$TMP/qemu.cmp" "$TMP/out.cmp" | sed 's/^/    /'
	fi
else
	skip "mbinfo against QEMU: qemu-system-x86_64 not installed"
fi
finish
