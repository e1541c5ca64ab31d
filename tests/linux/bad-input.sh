#!/bin/sh
# bad-input.sh - issue 3's bad inputs around Debian's real kernel: a truncated
# bzImage (cut inside the payload and inside the setup code), a non-kernel
# file, an initrd too large for guest RAM, --cpus 0 and --cpus 1000. Each must
# give status 2, exactly one "ringvm: " line on stderr naming the problem, and
# nothing on stdout (tests/cli/testlib's expect_error).
# Environment: RINGVM, BUILD; LINUX_REQUIRE=1 to fail instead of skip when the
# kernel cannot be downloaded.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cli/testlib"

if ! kernel=$("$top/scripts/fetch-kernel" --kernel 2>"$TMP/fetch.log"); then
	if [ "${LINUX_REQUIRE:-0}" = 1 ]; then
		echo "FAIL: cannot fetch the Debian kernel ($(tail -n 1 "$TMP/fetch.log"))"
		exit 1
	fi
	echo "SKIP: cannot fetch the Debian kernel ($(tail -n 1 "$TMP/fetch.log"))"
	exit 0
fi
K=$kernel
head -c 1000000 "$K" >"$TMP/trunc-payload.bz"	# header intact, payload cut
head -c 4096 "$K" >"$TMP/trunc-setup.bz"	# cut inside the setup sectors
head -c 65536 /dev/urandom >"$TMP/random.bin"
# A sparse 100 MiB initrd: the kernel itself needs 80 MiB from 16 MiB up
# (init_size), so 128M of RAM holds the kernel but not this initrd.
truncate -s 100M "$TMP/big.img"
printf 'console=ttyS0' >"$TMP/small.img"

expect_error "truncated bzImage (payload)" 2 "truncated" \
	-- run --kernel "$TMP/trunc-payload.bz" --append console=ttyS0
expect_error "truncated bzImage (setup)"   2 "truncated" \
	-- run --kernel "$TMP/trunc-setup.bz" --append console=ttyS0
expect_error "non-kernel file (random)"    2 "not a kernel format ringvm knows" \
	-- run --kernel "$TMP/random.bin"
expect_error "non-kernel file (text)"      2 "not a kernel format ringvm knows" \
	-- run --kernel /etc/os-release
expect_error "initrd too large"            2 "initrd .*does not fit" \
	-- run --kernel "$K" --initrd "$TMP/big.img" --mem 128M --append console=ttyS0
expect_error "kernel too large for --mem"  2 "give more --mem" \
	-- run --kernel "$K" --initrd "$TMP/small.img" --mem 64M --append console=ttyS0
expect_error "--cpus 0"                    2 "--cpus" \
	-- run --kernel "$K" --cpus 0
expect_error "--cpus 1000"                 2 "from 1 to 16" \
	-- run --kernel "$K" --cpus 1000
finish
