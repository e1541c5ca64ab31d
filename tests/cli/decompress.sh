#!/bin/sh
# decompress.sh - host decompression of a bzImage's payload and bare vmlinux
# kernels. The images are made here from bzinfo.asm: its 64-bit report code
# (position-independent) behind a prefix that prints "E", in an ELF64 with a
# "Linux" note, is the "vmlinux"; compressed (xz, lzma, gzip, zstd, lz4) it
# becomes the payload of a copy of bzinfo's bzImage. The host path must enter
# the ELF (the report starts with "E64"), the guest path bzinfo's own entry
# ("64" or "32"); --verbose says which and why. Payloads ringvm cannot use
# (bzip2, unknown magic, corrupt, truncated, a decompression bomb, not an
# ELF) fall back to the guest path; a bad ELF or a bad request gives status
# 2 and one line.
. "$(dirname "$0")/testlib"

if ! nasm -f bin -o "$TMP/bz.bin" "$(dirname "$0")/bzinfo.asm" 2>"$TMP/nasm.err"; then
	skip "bzinfo.asm does not assemble: $(head -n 1 "$TMP/nasm.err")"
	finish
	exit $?
fi
printf 'INITRD-CONTENTS-0123456789' >"$TMP/initrd"

# Every image this test uses, into $TMP. zstd and lz4 payloads need the tools.
python3 - "$TMP" <<'PY' || { bad "cannot make the test images"; finish; exit 1; }
import bz2, lzma, os, struct, subprocess, sys, zlib
tmp = sys.argv[1]
bz = open(os.path.join(tmp, "bz.bin"), "rb").read()
setup = (bz[0x1f1] + 1) * 512
# "E" on COM1, then bzinfo's 64-bit report (pm + 0x200, 0x200 bytes): mov dx, 0x3f8; mov al, 'E'; out dx, al
code = b"\x66\xba\xf8\x03\xb0E\xee" + bz[setup + 0x200:setup + 0x400]

def note(owner, ntype, desc):
    o = owner + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(o), len(desc), ntype) + pad(o) + pad(desc)

def elf(segs, entry, notes=note(b"Linux", 0x100, b"\0\0\0\0"), prefix=b""):
    """segs: (paddr, data, memsz, flags); entry physical. Returns the file."""
    n = len(segs) + 1
    body_off = 0x1000
    out = bytearray(body_off)
    phdrs = b""
    for paddr, data, memsz, flags in segs:
        off = len(out)
        out += data + b"\0" * (-len(data) % 0x1000)
        phdrs += struct.pack("<IIQQQQQQ", 1, flags, off, 0xffffffff80000000 + paddr, paddr,
                             len(data), memsz, 0x200000)
    noff = 0x800    # in the first page, so that a file cut in its segments keeps its notes
    out[noff:noff + len(notes)] = notes
    phdrs += struct.pack("<IIQQQQQQ", 4, 4, noff, 0, 0, len(notes), len(notes), 4)
    struct.pack_into("<4sBBBB8xHHIQQQIHHHHHH", out, 0, b"\x7fELF", 2, 1, 1, 0, 2, 62, 1,
                     entry, 64, 0, 0, 64, 56, n, 64, 0, 0)
    out[64:64 + len(phdrs)] = phdrs
    out[0x200:0x200 + len(prefix)] = prefix
    return bytes(out)

def put(name, data):
    open(os.path.join(tmp, name), "wb").write(data)

def bzimage(name, payload, init_size=None):
    """bzinfo's bzImage with this payload after its 0x400 bytes of code."""
    b = bytearray(bz[:setup + 0x400]) + payload
    b += b"\0" * (-len(b) % 16)
    struct.pack_into("<I", b, 0x1f4, (len(b) - setup) // 16)
    struct.pack_into("<II", b, 0x248, 0x400, len(payload))
    if init_size is not None:
        struct.pack_into("<I", b, 0x260, init_size)
    put(name, bytes(b))

def sized(c, raw):
    return c + struct.pack("<I", len(raw))   # the kernel build appends the size

def tool(argv, data):
    try:
        return subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None

X = 5   # PF_R | PF_X
# The payload's vmlinux: at bzinfo's pref_address (1 MiB), inside its init_size (1 MiB), with a bss.
v = elf([(0x100000, code, 0x2000, X)], 0x100000)
put("payload.elf", v)
bzimage("bz-xz", sized(lzma.compress(v, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32), v))
bzimage("bz-lzma", sized(lzma.compress(v, format=lzma.FORMAT_ALONE), v))
gz = zlib.compressobj(9, zlib.DEFLATED, 16 + 15)   # gzip framing
bzimage("bz-gzip", gz.compress(v) + gz.flush())
z = tool(["zstd", "-19", "-c", "-q"], v)
if z: bzimage("bz-zstd", sized(z, v))
l = tool(["lz4", "-l", "-9", "-c", "-q"], v)
if l: bzimage("bz-lz4", sized(l, v))
bzimage("bz-bzip2", sized(bz2.compress(v), v))
bzimage("bz-unknown", b"\x42" * 64)
xz = lzma.compress(v, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
corrupt = bytearray(xz)
for i in range(len(xz) // 3, len(xz) // 3 + 16):
    corrupt[i] ^= 0x5a
bzimage("bz-corrupt", bytes(corrupt))
bzimage("bz-truncated", xz[:len(xz) // 2])
big = b"\0" * (3 << 20)
bzimage("bz-bomb", sized(lzma.compress(big, format=lzma.FORMAT_XZ), big))
text = b"this is not an ELF file\n" * 100
bzimage("bz-notelf", sized(lzma.compress(text, format=lzma.FORMAT_XZ), text))
# A well-formed ELF whose bss runs past init_size: the host path refuses it.
fat = elf([(0x100000, code, 0x180000, X)], 0x100000)
bzimage("bz-fat", sized(lzma.compress(fat, format=lzma.FORMAT_XZ), fat))

# Bare vmlinux kernels, at 16 MiB (x86-64's LOAD_PHYSICAL_ADDR).
put("vmlinux", elf([(0x1000000, code, 0x3000, X), (0x1400000, b"data" * 8, 0x1000, 6)], 0x1000000))
put("vmlinux-xen", elf([(0x1000000, code, 0x3000, X)], 0x1000000,
                       notes=note(b"Xen", 6, b"linux\0")))
put("vmlinux-virt-entry", elf([(0x1000000, code, 0x3000, X)], 0xffffffff81000000))
put("vmlinux-high", elf([(0x8000000, code, 0x3000, X)], 0x8000000))
put("vmlinux-low", elf([(0x7000, code, 0x3000, X)], 0x7000))
put("vmlinux-overlap", elf([(0x1000000, code, 0x3000, X), (0x1001000, code, 0x1000, X)], 0x1000000))
put("vmlinux-entry", elf([(0x1000000, code, 0x3000, X)], 0x2000000))
full = elf([(0x1000000, code, 0x3000, X)], 0x1000000)
put("vmlinux-trunc", full[:0x1100])
put("elf-nonotes", elf([(0x1000000, code, 0x3000, X)], 0x1000000, notes=note(b"GNU", 3, b"\0" * 20)))
# A multiboot header in the first 8 KiB makes an ELF with Linux notes a multiboot kernel.
magic, flags = 0x1BADB002, 0
put("elf-multiboot", elf([(0x1000000, code, 0x3000, X)], 0x1000000,
                         prefix=struct.pack("<3I", magic, flags, (-(magic + flags)) & 0xffffffff)))
PY

# boots NAME EXPECTED-FIRST-LINE VERBOSE-PATTERN [ARGS...]: the guest reports, status 33
boots() {
	name=$1 want=$2 pat=$3
	shift 3
	"$RINGVM" run --kernel "$TMP/$name" --initrd "$TMP/initrd" --append "console=ttyS0 hello" \
		--mem 64M --debug-exit --verbose "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	printf '%s console=ttyS0 hello\nINITRD-CONTENTS-\n' "$want" >"$TMP/want"
	if [ $rc -ne 33 ]; then
		bad "$name $*: status $rc, want 33: $(head -c 300 "$TMP/err")"
	elif ! cmp -s "$TMP/out" "$TMP/want"; then
		bad "$name $*: reported '$(head -n 1 "$TMP/out")', want '$want'"
	elif ! grep -q "^ringvm: kernel .*: .*$pat" "$TMP/err"; then
		bad "$name $*: --verbose does not say '$pat': $(grep -v unclaimed "$TMP/err" | head -n 3)"
	else
		ok "$name $*: $(head -n 1 "$TMP/out"); $(grep "^ringvm: kernel" "$TMP/err" | sed 's/^[^:]*: [^:]*: //')"
	fi
}

for fmt in xz lzma gzip zstd lz4; do
	if [ ! -f "$TMP/bz-$fmt" ]; then
		skip "$fmt payload: no $fmt tool to make one"
		continue
	fi
	boots "bz-$fmt" "E64 CDSILP5N" "host-decompressed the $fmt payload"
done
boots bz-xz "E64 CDSILP5N" "host-decompressed the xz payload" --decompress host
boots bz-xz "64 CDSILP5N"  "own decompressor runs in the guest: --decompress guest" --decompress guest
boots bz-xz "32 CDSILP5"   "own decompressor runs in the guest: the 32-bit entry" --boot-entry 32
boots bz-bzip2    "64 CDSILP5N" "guest: bzip2 payload: ringvm has no decompressor"
boots bz-unknown  "64 CDSILP5N" "guest: unknown payload: ringvm has no decompressor"
boots bz-corrupt  "64 CDSILP5N" "guest: xz payload is corrupt"
boots bz-truncated "64 CDSILP5N" "guest: xz payload is truncated"
boots bz-bomb     "64 CDSILP5N" "guest: xz payload decompresses to more than 1048576 bytes"
boots bz-notelf   "64 CDSILP5N" "guest: the xz payload decompresses to 2400 bytes, but not an ELF file"
# bzinfo's own empty payload fields (0, 0): nothing for the host to do.
boots bz.bin      "64 CDSILP5N" "guest: the setup header (protocol 2.15) does not locate the payload"

boots vmlinux            "E64 CDSILP5N" "uncompressed vmlinux: 2 segments at 0x1000000-0x1400fff, 64-bit entry at 0x1000000"
boots vmlinux-xen        "E64 CDSILP5N" "uncompressed vmlinux"
boots vmlinux-virt-entry "E64 CDSILP5N" "64-bit entry at 0x1000000"
boots vmlinux            "E64 CDSILP5N" "uncompressed vmlinux" --boot-entry 64 --decompress host

expect_error "ELF past init_size"          2 "ELF segment at 0x100000-0x27ffff lies outside the kernel's init_size area" \
	-- run --kernel "$TMP/bz-fat" --mem 64M
expect_error "vmlinux beyond RAM"          2 "ELF segment at 0x8000000-0x8002fff is not in guest RAM; give more --mem" \
	-- run --kernel "$TMP/vmlinux-high" --mem 64M
expect_error "vmlinux below 1 MiB"         2 "ELF segment at 0x7000-0x9fff lies outside the range ringvm loads kernels in" \
	-- run --kernel "$TMP/vmlinux-low" --mem 64M
expect_error "vmlinux overlapping segments" 2 "ELF segments overlap" \
	-- run --kernel "$TMP/vmlinux-overlap" --mem 64M
expect_error "vmlinux entry outside"       2 "entry point 0x2000000 is not in an executable loadable segment" \
	-- run --kernel "$TMP/vmlinux-entry" --mem 64M
expect_error "vmlinux truncated"           2 "ELF segment 0 lies beyond the end of the file" \
	-- run --kernel "$TMP/vmlinux-trunc" --mem 64M
expect_error "vmlinux command line too long" 2 "at most 2047" \
	-- run --kernel "$TMP/vmlinux" --append "$(python3 -c 'print("x" * 2048)')"
expect_error "ELF without Linux notes"     2 "not a kernel format ringvm knows" \
	-- run --kernel "$TMP/elf-nonotes" --mem 64M
expect_error "multiboot header wins"       2 "--boot-entry applies to Linux kernels only" \
	-- run --kernel "$TMP/elf-multiboot" --boot-entry 64
expect_error "vmlinux --boot-entry 32"     2 "only the 64-bit entry" \
	-- run --kernel "$TMP/vmlinux" --boot-entry 32
expect_error "vmlinux --decompress guest"  2 "no decompressor" \
	-- run --kernel "$TMP/vmlinux" --decompress guest
expect_error "--decompress bad value"      2 "--decompress 'hots': give host or guest" \
	-- run --kernel "$TMP/bz-xz" --decompress hots
expect_error "--decompress host, entry 32" 2 "--decompress host needs the 64-bit entry" \
	-- run --kernel "$TMP/bz-xz" --decompress host --boot-entry 32
expect_error "--decompress without kernel" 2 "--decompress needs --kernel" \
	-- run --bios "$TMP/bz.bin" --decompress guest
expect_error "--decompress with multiboot" 2 "applies to Linux bzImage kernels only" \
	-- run --kernel "$(halting_kernel)" --decompress host

finish
