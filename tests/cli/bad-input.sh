#!/bin/sh
# bad-input.sh - every kind of bad input gets one clear line on stderr and
# status 2, never a crash.
. "$(dirname "$0")/testlib"

# A valid multiboot kernel (a.out kludge) that halts: the header alone.
K=$(halting_kernel)
printf 'hello, not a kernel\n' >"$TMP/text"
: >"$TMP/empty"
head -c 4096 /dev/urandom >"$TMP/random"

expect_error "missing kernel"        2 "cannot open kernel .*No such file" -- run --kernel "$TMP/nope"
expect_error "kernel is a directory" 2 "not a regular file"               -- run --kernel "$TMP"
expect_error "empty kernel"          2 "empty"                            -- run --kernel "$TMP/empty"
expect_error "text file as kernel"   2 "not a kernel format ringvm knows" -- run --kernel "$TMP/text"
expect_error "random bytes"          2 "not a kernel format ringvm knows" -- run --kernel "$TMP/random"
expect_error "--cpu bad value"       2 "--cpu 'svm=maybe': give svm=on or svm=off" -- run --kernel "$TMP/random" --cpu svm=maybe
expect_error "missing initrd"        2 "cannot open initrd"               -- run --kernel "$K" --initrd "$TMP/nope"
expect_error "missing bios"          2 "cannot open firmware"             -- run --bios "$TMP/nope"
expect_error "bios of wrong size"    2 "multiple of 64 KiB"               -- run --bios "$TMP/text"
expect_error "--mem 0"               2 "--mem 0: .*at least 2M"           -- run --kernel "$K" --mem 0
expect_error "--mem 1K"              2 "at least 2M"                      -- run --kernel "$K" --mem 1K
expect_error "--mem not a number"    2 "not a size"                       -- run --kernel "$K" --mem lots
expect_error "--mem bad suffix"      2 "not a size"                       -- run --kernel "$K" --mem 12X
expect_error "--mem overflow"        2 "not a size"                       -- run --kernel "$K" --mem 99999999999999999999G
expect_error "--mem beyond host"     2 "more than the host"               -- run --kernel "$K" --mem 1024T
expect_error "--mem 1T"              2 "more than the host"               -- run --kernel "$K" --mem 1T
expect_error "--cpus 0"              2 "--cpus"                           -- run --kernel "$K" --cpus 0
expect_error "--cpus x"              2 "--cpus"                           -- run --kernel "$K" --cpus x
expect_error "--cpus 17"             2 "from 1 to 16"                     -- run --kernel "$K" --cpus 17
expect_error "--cpus 1000"           2 "from 1 to 16"                     -- run --kernel "$K" --cpus 1000
expect_error "unknown long option"   2 "unknown option '--frobnicate'"    -- run --kernel "$K" --frobnicate
expect_error "unknown short option"  2 "unknown option '-q'"              -- run -q
expect_error "option without value"  2 "'--kernel' needs a value"         -- run --kernel
expect_error "stray argument"        2 "unexpected argument 'extra'"      -- run --kernel "$K" extra
expect_error "no kernel, no bios"    2 "give --kernel FILE or --bios FILE" -- run
expect_error "no kernel, no bios 2"  2 "give --kernel FILE or --bios FILE" -- run --mem 64M --append x
expect_error "initrd without kernel" 2 "--initrd needs --kernel"          -- run --bios "$TMP/text" --initrd "$K"
expect_error "unknown command"       2 "unknown command 'fly'"            -- fly
expect_error "unknown top option"    2 "unknown option '--fly'"           -- --fly

# Unreadable file: root reads everything, so drop to nobody when we are root.
cp "$K" "$TMP/unreadable"
chmod 000 "$TMP/unreadable"
if [ "$(id -u)" -ne 0 ]; then
	expect_error "unreadable kernel" 2 "cannot open kernel .*Permission denied" -- run --kernel "$TMP/unreadable"
elif command -v setpriv >/dev/null 2>&1; then
	chmod 755 "$TMP"
	RINGVM_REAL=$RINGVM
	cp "$RINGVM" "$TMP/ringvm" && chmod 755 "$TMP/ringvm"
	RINGVM=$TMP/ringvm
	RUNWRAP="setpriv --reuid=65534 --regid=65534 --clear-groups"
	expect_error "unreadable kernel" 2 "cannot open kernel .*Permission denied" -- run --kernel "$TMP/unreadable"
	RINGVM=$RINGVM_REAL
	RUNWRAP=
else
	skip "unreadable kernel: running as root without setpriv"
fi

# Malformed multiboot headers: each must be refused with a reason, never crash.
python3 - "$TMP" <<'PY'
import struct, sys, os
d = sys.argv[1]
M, AOUT = 0x1BADB002, 0x10000
def hdr(flags, fields=(), csum=None):
    c = (-(M + flags)) & 0xffffffff if csum is None else csum
    return struct.pack('<3I', M, flags, c) + struct.pack('<%dI' % len(fields), *fields)
cases = {
  'badsum':   hdr(AOUT, (0x100000, 0x100000, 0, 0, 0x100000), csum=1),
  'required': hdr(AOUT | 0x80, (0x100000, 0x100000, 0, 0, 0x100000)),
  'short':    hdr(AOUT, (0x100000,)),
  'loadaddr': hdr(AOUT, (0x100000, 0x200000, 0, 0, 0x100000)),
  'loadend':  hdr(AOUT, (0x100000, 0x100000, 0x1000000, 0, 0x100000)),
  'bssend':   hdr(AOUT, (0x100000, 0x100000, 0, 0x1000, 0x100000)),
  'toohigh':  hdr(AOUT, (0xfff00000, 0xfff00000, 0, 0, 0xfff00000)),
  'hugebss':  hdr(AOUT, (0x100000, 0x100000, 0, 0xfffff000, 0x100000)),
  'lowhole':  hdr(AOUT, (0xa0000, 0xa0000, 0, 0, 0xa0000)),
  'noelf':    hdr(0),
}
# ELF32 for ARM (e_machine 40)
cases['armelf'] = b'\x7fELF\x01\x01\x01' + b'\0' * 9 + struct.pack('<HHIIIIIHHHHHH', 2, 40, 1, 0x100000, 52, 0, 0, 52, 32, 0, 0, 0, 0) + hdr(0)
# ELF32 whose program header points past the end of the file
e = bytearray(b'\x7fELF\x01\x01\x01' + b'\0' * 9)
e += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, 0x100000, 52, 0, 0, 52, 32, 1, 0, 0, 0)
e += struct.pack('<8I', 1, 0x10000, 0x100000, 0x100000, 0x1000, 0x1000, 5, 0x1000)
e += hdr(0)
cases['elfpast'] = bytes(e)
for k, v in cases.items():
    open(os.path.join(d, 'mb-' + k), 'wb').write(v + b'\0' * 64)
PY
expect_error "wrong checksum"         2 "checksum"                    -- run --kernel "$TMP/mb-badsum"
expect_error "unsupported flag"       2 "requires features"           -- run --kernel "$TMP/mb-required"
expect_error "a.out load_addr"        2 "load_addr"                   -- run --kernel "$TMP/mb-loadaddr"
expect_error "a.out load_end_addr"    2 "load_end_addr"               -- run --kernel "$TMP/mb-loadend"
expect_error "a.out bss_end_addr"     2 "bss_end_addr"                -- run --kernel "$TMP/mb-bssend"
expect_error "above RAM"              2 "guest RAM"                   -- run --kernel "$TMP/mb-toohigh"
expect_error "huge bss"               2 "guest RAM"                   -- run --kernel "$TMP/mb-hugebss"
expect_error "load into VGA hole"     2 "guest RAM"                   -- run --kernel "$TMP/mb-lowhole"
expect_error "no ELF, no a.out"       2 "not ELF"                     -- run --kernel "$TMP/mb-noelf"
expect_error "ELF for another arch"   2 "another machine"             -- run --kernel "$TMP/mb-armelf"
expect_error "ELF segment past EOF"   2 "beyond the end of the file"  -- run --kernel "$TMP/mb-elfpast"
head -c 3000000 /dev/zero >"$TMP/big"
expect_error "initrd beyond --mem"   2 "initrd .*does not fit"       -- run --kernel "$K" --mem 2M --initrd "$TMP/big"

# --help and --version succeed and print on stdout.
if "$RINGVM" --help | grep -q 'Exit status' && "$RINGVM" run --help | grep -q -- '--kernel'; then
	ok "--help"
else
	bad "--help"
fi
if "$RINGVM" --version | grep -Eq '^ringvm [0-9]'; then ok "--version"; else bad "--version"; fi

finish
