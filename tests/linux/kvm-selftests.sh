#!/bin/sh
# Runs the kernel's own KVM selftests (tools/testing/selftests/kvm, the x86_64
# set of Debian's linux-source-6.1, built static by scripts/build-kvm-selftests)
# in a guest: boots Debian 12's stock kernel with --cpu svm=on and a busybox
# initramfs holding kvm_amd and /selftests; the guest loads kvm_amd (so its
# /dev/kvm runs the tests' VMs on ringvm's nested SVM) and its /init runs
# every test named in /selftests/TESTS (tests/linux/kvm-selftests-guest.sh)
# with a per-test timeout, then powers off. Prints a table of the results.
#
# Every test must PASS, or be listed in tests/linux/kvm-selftests-known.txt
# as "name FAIL reason...", "name SKIP reason..." (and end that way) or
# "name FLAKY reason..." (PASS or FAIL): the run fails on an unlisted
# failure or skip, and on a listed test that ends otherwise (one that now
# passes must leave the list, so the list stays honest). It fails too if the guest kernel logs a warning, an oops or an
# unchecked MSR access (kvm_amd touching an MSR ringvm lacks), or if ringvm
# does not end with the guest's poweroff.
#
# Environment: RINGVM (default build/ringvm), BUILD (for the logs),
# KVM_SELFTESTS_TIMEOUT seconds for the whole run (default 2400),
# KVM_SELFTESTS_TEST_TIMEOUT seconds per test in the guest (default 300:
# rseq_test, the slowest that passes, takes about 250),
# KVM_SELFTESTS_ONLY=name,name to run only those (the others are not checked),
# KVM_SELFTESTS_QUICK=1 to leave out the slow ones (those of $slow below,
# seconds to minutes each): the rest boot and run in about a minute, the
# part `make test` runs,
# KVM_SELFTESTS_MEM (default 2G: tests map guest memory of up to a few
# hundred MiB, and the nested guests' memory comes out of it),
# KVM_SELFTESTS_CPUS (default 2: the tests with several vCPU threads and
# rseq_test's migrations need a second CPU to mean anything),
# LINUX_REQUIRE=1 to fail instead of skip when the kernel or the sources
# cannot be downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/guestlib.sh"
TIMEOUT=${KVM_SELFTESTS_TIMEOUT:-2400}
TEST_TIMEOUT=${KVM_SELFTESTS_TEST_TIMEOUT:-300}
MEM=${KVM_SELFTESTS_MEM:-2G}
CPUS=${KVM_SELFTESTS_CPUS:-2}
ONLY=${KVM_SELFTESTS_ONLY:-}
known="$here/kvm-selftests-known.txt"
# Over ten seconds each on the soft CPU (rseq_test about 250), or timing
# out, or timed against the host's clock (xapic_ipi_test).
slow="demand_paging_test dirty_log_test dirty_log_perf_test kvm_page_table_test
memslot_modification_stress_test memslot_perf_test set_memory_region_test
max_guest_memory_test rseq_test xapic_ipi_test hardware_disable_test"
need_kernel
bin=$("$top/scripts/build-kvm-selftests" 2>"$logdir/kvm-selftests-build.log") ||
	{ cat "$logdir/kvm-selftests-build.log" >&2; skip_or_fail "cannot build the KVM selftests"; }
cat "$logdir/kvm-selftests-build.log" >&2

# The initramfs: the busybox one plus kvm_amd, /selftests (the binaries,
# TESTS and the runner) and the /init.d/run hook of the x86 selftests, which
# runs /selftests/run when the command line says ringvm.selftests=1.
extra=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-kvm-selftests.XXXXXX")
trap 'rm -rf "$extra"' EXIT
mkdir -p "$extra/selftests" "$extra/init.d"
if [ -n "$ONLY" ]; then
	echo "$ONLY" | tr ',' '\n' >"$extra/selftests/TESTS"
elif [ "${KVM_SELFTESTS_QUICK:-0}" = 1 ]; then
	# shellcheck disable=SC2086
	grep -vxF "$(printf '%s\n' $slow)" "$bin/TESTS" >"$extra/selftests/TESTS"
else
	cp "$bin/TESTS" "$extra/selftests/TESTS"
fi
while read -r t; do
	[ -x "$bin/$t" ] && cp "$bin/$t" "$extra/selftests/"
done <"$extra/selftests/TESTS"
cp "$here/kvm-selftests-guest.sh" "$extra/selftests/run"
cp "$here/selftests-init.sh" "$extra/init.d/run"
chmod 755 "$extra/selftests/run" "$extra/init.d/run"
initrd="$cache/initramfs-kvm-selftests.cpio.gz"
INITRAMFS_EXTRA="$extra" INITRAMFS_MODULES=kvm_amd "$top/scripts/make-initramfs" "$initrd" \
	>/dev/null 2>"$logdir/kvm-selftests-initramfs.log" ||
	{ cat "$logdir/kvm-selftests-initramfs.log" >&2; echo "FAIL: scripts/make-initramfs"; exit 1; }

append="console=ttyS0 ringvm.selftests=1 ringvm.selftests.timeout=$TEST_TIMEOUT"
out="$logdir/kvm-selftests.out" err="$logdir/kvm-selftests.err"
echo "kernel: $kernel"
echo "initrd: $initrd"
echo "running: $RINGVM run --cpu svm=on --mem $MEM --cpus $CPUS --append \"$append\" (log: $out)"
start=$(date +%s)
timeout -k 10 "$TIMEOUT" "$RINGVM" run --kernel "$kernel" --initrd "$initrd" --cpu svm=on \
	--mem "$MEM" --cpus "$CPUS" --append "$append" --stats >"$out" 2>"$err" </dev/null
status=$?
secs=$(($(date +%s) - start))
echo "ringvm ended with status $status after ${secs}s"
[ "$status" = 0 ] || tail -n 20 "$err"

selftest_results "$out" 38

fails=0
while read -r t; do
	[ -n "$t" ] || continue
	res=$(echo "$results" | awk -v n="$t" '$1 == n { print $2 }')
	[ -n "$res" ] || res="no-result"
	want=$(awk -v n="$t" '$1 == n { print $2; exit }' "$known")
	why=$(awk -v n="$t" '$1 == n { $1 = ""; $2 = ""; sub(/^  /, ""); print; exit }' "$known")
	if [ -z "$want" ]; then
		[ "$res" = PASS ] && continue
		echo "FAIL: $t: $res, and not in $(basename "$known")"
		fails=$((fails + 1))
	elif [ "$res" = "$want" ] || { [ "$want" = FLAKY ] && { [ "$res" = PASS ] || [ "$res" = FAIL ]; }; }; then
		echo "known $want ($res): $t: $why"
	else
		echo "FAIL: $t: $res, but $(basename "$known") expects $want ($why)"
		fails=$((fails + 1))
	fi
done <"$extra/selftests/TESTS"
# kvm_amd must not find the CPU wanting: a WARN in KVM's nested code or an
# MSR it reads that ringvm lacks is a ringvm bug even when the test passes.
if ! guest_log_clean "$out" 'WARNING:|BUG:|Oops|unchecked MSR access' >"$logdir/kvm-selftests.warn"; then
	echo "FAIL: the guest kernel logged a warning, an oops or an unchecked MSR access:"
	cat "$logdir/kvm-selftests.warn"
	fails=$((fails + 1))
fi
if [ "$status" != 0 ]; then
	echo "FAIL: ringvm ended with status $status (expected 0 from the guest's poweroff)"
	fails=$((fails + 1))
fi
[ "$fails" = 0 ] && echo "PASS: KVM selftests (${secs}s)"
[ "$fails" = 0 ]
