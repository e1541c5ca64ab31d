#!/bin/sh
# bzimage.sh - the Linux boot protocol loader: a tiny bzImage (bzinfo.asm)
# reports, from each entry, the state and boot_params it received; broken
# bzImages and impossible requests get one clear line and status 2.
. "$(dirname "$0")/testlib"

if ! nasm -f bin -o "$TMP/bz.bin" "$(dirname "$0")/bzinfo.asm" 2>"$TMP/nasm.err"; then
	skip "bzinfo.asm does not assemble: $(head -n 1 "$TMP/nasm.err")"
	finish
	exit $?
fi
BZ=$TMP/bz.bin
printf 'INITRD-CONTENTS-0123456789' >"$TMP/initrd"

# e820 with --mem 64M: RAM below the EBDA, EBDA, 0xA0000-1 MiB, RAM, 0xFEC00000-4 GiB.
for entry in 64 32; do
	"$RINGVM" run --kernel "$BZ" --boot-entry "$entry" --initrd "$TMP/initrd" \
		--append "console=ttyS0 hello" --mem 64M --debug-exit >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	n=; [ "$entry" = 64 ] && n=N
	printf '%s CDSILP5%s console=ttyS0 hello\nINITRD-CONTENTS-\n' "$entry" "$n" >"$TMP/want"
	if [ $rc -ne 33 ]; then
		bad "entry $entry: status $rc, want 33: $(head -c 300 "$TMP/err")"
	elif ! cmp -s "$TMP/out" "$TMP/want"; then
		bad "entry $entry: reported '$(cat "$TMP/out")', want '$(cat "$TMP/want")'"
	else
		ok "entry $entry: $(head -n 1 "$TMP/out")"
	fi
done

# The default entry is 64; no --append gives an empty command line, no initrd none.
"$RINGVM" run --kernel "$BZ" --debug-exit >"$TMP/out" 2>"$TMP/err" </dev/null
printf '64 CDSILP5N \n\n' >"$TMP/want"
if cmp -s "$TMP/out" "$TMP/want"; then ok "default entry 64, empty command line"
else bad "default entry: got '$(cat "$TMP/out")'"; fi

# patch NAME OFFSET FORMAT VALUE: a copy of the bzImage with one header field changed
patch() {
	python3 - "$BZ" "$TMP/$1" "$2" "$3" "$4" <<'PY'
import struct, sys
src, dst, off, fmt, val = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), sys.argv[4], int(sys.argv[5], 0)
b = bytearray(open(src, 'rb').read())
struct.pack_into('<' + fmt, b, off, val)
open(dst, 'wb').write(b)
PY
}
head -c 3000 "$BZ" >"$TMP/trunc-setup"
head -c 2600 "$BZ" >"$TMP/trunc-kernel"
patch sects64   0x1f1 B 64
patch payload   0x24c I 0x10000
patch v201      0x206 H 0x0201
patch v211      0x206 H 0x020b
patch nok64     0x236 H 0
patch zimage    0x211 B 0
patch hdrshort  0x201 B 0x20
patch initbig   0x260 I 0x40000000
head -c 300000 /dev/zero >"$TMP/bigrd"
long=$(python3 -c 'print("x" * 300)')

expect_error "bzImage truncated in setup" 2 "truncated"                        -- run --kernel "$TMP/trunc-setup"
expect_error "bzImage truncated kernel"   2 "truncated"                        -- run --kernel "$TMP/trunc-kernel"
expect_error "setup_sects 64"             2 "setup_sects 64 is out of range"   -- run --kernel "$TMP/sects64"
expect_error "payload beyond the file"    2 "payload .*beyond the file"        -- run --kernel "$TMP/payload"
expect_error "protocol 2.01"              2 "2.01 is too old"                  -- run --kernel "$TMP/v201"
expect_error "protocol 2.11, 64-bit"      2 "no 64-bit entry .*--boot-entry 32" -- run --kernel "$TMP/v211"
expect_error "no XLF_KERNEL_64"           2 "no 64-bit entry point"            -- run --kernel "$TMP/nok64"
expect_error "zImage"                     2 "zImage"                           -- run --kernel "$TMP/zimage"
expect_error "setup header too short"     2 "setup header ends at"             -- run --kernel "$TMP/hdrshort"
expect_error "init_size beyond RAM"       2 "needs 1025 MiB .*--mem"           -- run --kernel "$TMP/initbig" --mem 64M
expect_error "initrd too large"           2 "initrd of 300000 bytes does not fit" -- run --kernel "$BZ" --mem 2M --initrd "$TMP/bigrd"
expect_error "command line too long"      2 "at most 255"                      -- run --kernel "$BZ" --append "$long"
expect_error "--boot-entry 48"            2 "--boot-entry '48': give 64 or 32" -- run --kernel "$BZ" --boot-entry 48
expect_error "--boot-entry without kernel" 2 "--boot-entry needs --kernel"     -- run --bios "$BZ" --boot-entry 32

# --boot-entry is for bzImages only: a multiboot kernel (a.out kludge, cli; hlt) refuses it.
python3 - "$TMP/mb.bin" <<'PY'
import struct, sys
magic, flags = 0x1BADB002, 0x00010000
hdr = struct.pack('<8I', magic, flags, (-(magic + flags)) & 0xffffffff, 0x100000, 0x100000, 0, 0, 0x100020)
open(sys.argv[1], 'wb').write(hdr + b'\xfa\xf4' * 8)
PY
expect_error "--boot-entry with multiboot" 2 "--boot-entry applies to Linux kernels only" -- run --kernel "$TMP/mb.bin" --boot-entry 64

# A 2.11 kernel still boots through the 32-bit entry.
"$RINGVM" run --kernel "$TMP/v211" --boot-entry 32 --debug-exit >"$TMP/out" 2>"$TMP/err" </dev/null
rc=$?
if [ $rc -eq 33 ] && head -n 1 "$TMP/out" | grep -q '^32 CDSILP'; then ok "protocol 2.11 via the 32-bit entry"
else bad "protocol 2.11 via the 32-bit entry: status $rc, '$(head -n 1 "$TMP/out")' $(head -c 200 "$TMP/err")"; fi

finish
