#!/bin/sh
# qcow2.sh - --disk ...,format=qcow2 from the outside, with no guest boot: a
# good image opens (the machine is built and a halting guest runs), the
# format is never probed, and images ringvm cannot serve safely (backing
# file, dirty, corrupt header) are refused with status 2 and one line.
# qemu-img makes the images and checks them afterwards.
. "$(dirname "$0")/testlib"

if ! command -v qemu-img >/dev/null 2>&1; then
	skip "qemu-img is not installed (scripts/deps installs qemu-utils)"
	finish
	exit $?
fi

# A multiboot kernel (a.out kludge) that halts at once (status 8): disks are opened before it runs.
K=$(halting_kernel)


# qemu_check NAME IMG: qemu-img check finds no corruption and no leak.
qemu_check() {
	if qemu-img check -q "$2" >"$TMP/check" 2>&1; then
		ok "$1: qemu-img check is clean"
	else
		bad "$1: qemu-img check: $(head -n 3 "$TMP/check")"
	fi
}

# set_byte FILE OFFSET VALUE: one byte of FILE, in place.
set_byte() {
	printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

Q=$TMP/disk.qcow2
qemu-img create -q -f qcow2 "$Q" 64M
qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 "$TMP/v2.qcow2" 16M
head -c 1048576 /dev/zero >"$TMP/raw.img"

e() { expect_error "$@"; }
e "format=vmdk"           2 "^ringvm: --disk: format 'vmdk': give raw or qcow2" -- run --kernel "$K" --disk "path=$Q,format=vmdk"
e "format twice"          2 "^ringvm: --disk: 'format' given twice"           -- run --kernel "$K" --disk "path=$Q,format=qcow2,format=raw"
e "format without value"  2 "^ringvm: --disk: key 'format' needs a value"     -- run --kernel "$K" --disk "path=$Q,format"

expect_runs "qcow2 v3"            -- run --kernel "$K" --disk "path=$Q,format=qcow2"
expect_runs "qcow2 v2, read-only" -- run --kernel "$K" --disk "path=$TMP/v2.qcow2,format=qcow2,readonly=on"
expect_runs "qcow2 and raw disks" -- run --kernel "$K" --disk "path=$Q,format=qcow2,serial=Q" --disk "path=$TMP/raw.img,format=raw"
# Never probed: without format=qcow2 the file is a raw disk (its bytes, header and all).
expect_runs "qcow2 file as raw"   -- run --kernel "$K" --disk "path=$TMP/v2.qcow2,readonly=on"
qemu_check "after the runs" "$Q"
qemu_check "after the runs (v2)" "$TMP/v2.qcow2"

e "raw file as qcow2"     2 "^ringvm: disk image '.*raw.img' is not a qcow2 image" -- run --kernel "$K" --disk "path=$TMP/raw.img,format=qcow2"
qemu-img create -q -f qcow2 -b "$TMP/raw.img" -F raw "$TMP/top.qcow2"
e "backing file"          2 "^ringvm: disk image '.*top.qcow2' has a backing file" -- run --kernel "$K" --disk "path=$TMP/top.qcow2,format=qcow2"

cp "$Q" "$TMP/dirty.qcow2"
set_byte "$TMP/dirty.qcow2" 79 1	# incompatible_features bit 0: dirty
e "dirty image"           2 "^ringvm: disk image '.*dirty.qcow2' is marked dirty; run qemu-img check -r all" \
	-- run --kernel "$K" --disk "path=$TMP/dirty.qcow2,format=qcow2"
cp "$Q" "$TMP/bad.qcow2"
set_byte "$TMP/bad.qcow2" 23 40		# cluster_bits 40
e "bad cluster_bits"      2 "^ringvm: disk image '.*bad.qcow2': qcow2 cluster_bits 40" \
	-- run --kernel "$K" --disk "path=$TMP/bad.qcow2,format=qcow2"
cp "$Q" "$TMP/bad2.qcow2"
set_byte "$TMP/bad2.qcow2" 40 255	# L1 table offset far past the end of the file
e "bad L1 offset"         2 "^ringvm: disk image '.*bad2.qcow2': qcow2 L1 table offset" \
	-- run --kernel "$K" --disk "path=$TMP/bad2.qcow2,format=qcow2"

# Locked like a raw image: a second writer is refused.
python3 - "$Q" "$TMP/held" <<'PY' &
import fcntl, sys, time
f = open(sys.argv[1], 'rb')
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], 'w').close()
time.sleep(60)
PY
holder=$!
n=0
while [ ! -e "$TMP/held" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
e "qcow2 image locked"    2 "^ringvm: disk image '$Q'.*in use"                -- run --kernel "$K" --disk "path=$Q,format=qcow2"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

finish
