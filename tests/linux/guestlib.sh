# Sourced by the scripts that boot Debian's kernel with a test initramfs
# (selftests.sh, kvm-selftests.sh, kvm-api.sh): what they share. Set `here`
# (the folder of tests/linux) before sourcing it.
#
# Sets top, RINGVM (default build/ringvm), BUILD (default build), logdir
# ($BUILD/linux, made) and cache (as scripts/fetch-kernel has it).
top=$(cd "$here/../.." && pwd)
RINGVM=${RINGVM:-$top/build/ringvm}
BUILD=${BUILD:-build}
logdir="$BUILD/linux"
mkdir -p "$logdir"
cache="${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}"

# skip_or_fail MESSAGE: something to download is not there: a failure with
# LINUX_REQUIRE=1 (make test), else a skip. Ends the script.
skip_or_fail() {
	if [ "${LINUX_REQUIRE:-0}" = 1 ]; then
		echo "FAIL: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 0
}

# need_kernel: checks that ringvm is built and sets `kernel` to Debian's
# bzImage (fetched once into the cache).
need_kernel() {
	[ -x "$RINGVM" ] || { echo "FAIL: no $RINGVM (build it first)"; exit 1; }
	kernel=$("$top/scripts/fetch-kernel" --kernel 2>"$logdir/fetch.log") ||
		{ cat "$logdir/fetch.log" >&2; skip_or_fail "cannot fetch the Debian kernel"; }
}

# selftest_results OUT WIDTH: sets `results` ("name RESULT details" per
# line, from the guest's "SELFTEST name: ..." lines in OUT) and prints
# them as a table, then the guest's summary line.
selftest_results() {
	results=$(tr -d '\r' <"$1" | sed -n 's/^SELFTEST \([A-Za-z0-9_]*\): \(.*\)$/\1 \2/p')
	printf "%-${2}s %s\n" TEST RESULT
	echo "$results" | while read -r name res rest; do
		[ -n "$name" ] || continue
		printf "%-${2}s %s %s\n" "$name" "$res" "$rest"
	done
	tr -d '\r' <"$1" | grep -a '^SELFTESTS ' || echo "(no summary line: the run did not finish)"
}

# guest_log_clean OUT PATTERN [-i]: the guest kernel logged nothing that
# matches PATTERN (grep -E; -i: in any case); else prints what it did, for
# a FAIL.
guest_log_clean() {
	if tr -d '\r' <"$1" | grep -aE ${3:-} -- "$2" >/dev/null; then
		tr -d '\r' <"$1" | grep -aE ${3:-} -A3 -- "$2" | head -n 20
		return 1
	fi
	return 0
}
