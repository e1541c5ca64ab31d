#!/bin/sh
# /selftests/run in the KVM selftests initramfs (tests/linux/kvm-selftests.sh
# puts it there, beside the test binaries): loads kvm_amd on ringvm's nested
# SVM, runs each kernel KVM selftest named in /selftests/TESTS with a timeout
# and prints one line per test, "SELFTEST name: PASS|FAIL|SKIP (exit N)",
# then "SELFTESTS DONE: ...". kselftest's exit statuses: 0 pass, 4 skip
# (KSFT_SKIP), anything else fails (254: a failed TEST_ASSERT); a timeout
# shows as FAIL (exit 143 or 137 from busybox's timeout, 124 from others').
# A failing test that did not time out runs once more and counts as passed
# if the second run passes, with both exit statuses on its line: a few tests
# measure time against the host (the guest's kvmclock, an IPI's round trip)
# and a soft CPU with other work on the host may miss a bound once; a real
# bug fails both runs.
#
# usage: /selftests/run [NAME...]   (default: every test in /selftests/TESTS)
# The kernel command line may set ringvm.selftests.timeout=SECONDS (default 120)
# and ringvm.selftests.only=NAME,NAME (run only those).
timeout=120
only=""
for arg in $(cat /proc/cmdline 2>/dev/null); do
	case "$arg" in
	ringvm.selftests.timeout=*) timeout=${arg#*=} ;;
	ringvm.selftests.only=*) only=$(echo "${arg#*=}" | tr ',' ' ') ;;
	esac
done
[ $# -gt 0 ] && only="$*"
[ -n "$only" ] || only=$(cat /selftests/TESTS)

if ! modprobe kvm_amd; then
	echo "SELFTESTS ERROR: modprobe kvm_amd failed"
fi
[ -c /dev/kvm ] || echo "SELFTESTS ERROR: no /dev/kvm"
# kvm_clock_test wants the guest's clocksource to be tsc, which it becomes
# only after the kernel's refined TSC calibration (a second or so after
# boot); wait for that rather than have the test fail by starting early.
cs=/sys/devices/system/clocksource/clocksource0/current_clocksource
n=0
while [ "$(cat $cs 2>/dev/null)" != tsc ] && [ $n -lt 30 ]; do
	sleep 1; n=$((n + 1))
done
echo "SELFTESTS clocksource: $(cat $cs 2>/dev/null)"

# hardware_disable_test's sem_open needs a tmpfs at /dev/shm, which the
# busybox /init does not mount (without it the test dereferences SEM_FAILED).
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm

# nx_huge_pages_test runs under the Makefile's nx_huge_pages_test.sh, which
# sets KVM's NX huge page parameters and reserves 2 MiB pages with sudo;
# here the runner is root and does the same, then passes its arguments (-r:
# the run with CAP_SYS_BOOT, as root has).
nx_setup() {
	echo 1 >/sys/module/kvm/parameters/nx_huge_pages
	echo 1 >/sys/module/kvm/parameters/nx_huge_pages_recovery_ratio
	echo 100 >/sys/module/kvm/parameters/nx_huge_pages_recovery_period_ms
	echo 3 >/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
}

# run_one NAME: sets rc (exit status) and res (PASS, FAIL or SKIP).
run_one() {
	args=""
	case "$1" in
	nx_huge_pages_test)
		nx_setup 2>/dev/null
		args="-t 887563923 -p 100 -r" ;;
	max_guest_memory_test)
		# its default 2 GiB memslot, prefaulted, is more than the
		# guest's RAM; 1 GiB slots cover the same guest-physical span
		args="-s 1" ;;
	esac
	# -k: a test that ignores SIGTERM (or is stuck in the kernel) is killed.
	# shellcheck disable=SC2086
	timeout -k 10 "$timeout" "/selftests/$1" $args </dev/null 2>&1
	rc=$?
	# A test killed by the timeout leaves its forked children (and their
	# spinning vCPU threads) behind to slow the tests after it.
	killall -9 "$1" 2>/dev/null
	case $rc in
	0) res=PASS ;;
	4) res=SKIP ;;
	*) res=FAIL ;;
	esac
}

pass=0 fail=0 skip=0
for t in $only; do
	if [ ! -x "/selftests/$t" ]; then
		echo "SELFTEST $t: FAIL (missing)"
		fail=$((fail + 1))
		continue
	fi
	echo "SELFTEST-START $t"
	start=$(cut -d. -f1 /proc/uptime)
	run_one "$t"
	note=""
	if [ "$res" = FAIL ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] && [ "$rc" != 143 ]; then
		first=$rc
		echo "SELFTEST-RETRY $t (first run: exit $first)"
		run_one "$t"
		note=", first run exit $first"
	fi
	case $res in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
	echo "SELFTEST $t: $res (exit $rc$note, $(($(cut -d. -f1 /proc/uptime) - start))s)"
done
echo "SELFTESTS DONE: pass=$pass fail=$fail skip=$skip"
