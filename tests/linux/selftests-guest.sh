#!/bin/sh
# /selftests/run in the selftests initramfs (tests/linux/selftests.sh puts it
# there): runs each kernel x86 selftest in /selftests with a timeout and prints
# one line per test, "SELFTEST name: PASS|FAIL|SKIP (exit N)", then a summary
# line "SELFTESTS DONE: ...". kselftest's exit statuses: 0 pass, 4 skip
# (KSFT_SKIP), anything else fails; a timeout shows as FAIL (exit 124/137).
# A test that exits 0 having printed [SKIP] lines and no [OK] one is a SKIP.
# A failing test runs once more and counts as passed if the second run
# passes, with both exit statuses on its line: some tests race against
# preemption by design (fsgsbase's "mov 0 to %gs" case compares the base it
# saw with ARCH_GET_GS, and a context switch in between makes the kernel
# report its saved base, as it does on hardware), and a soft CPU takes many
# more timer ticks per test. A real CPU bug fails both runs.
#
# usage: /selftests/run [NAME...]   (default: every /selftests/*_64)
# The kernel command line may set ringvm.selftests.timeout=SECONDS (default 180)
# and ringvm.selftests.only=NAME,NAME (run only those).
timeout=180
only=""
for arg in $(cat /proc/cmdline 2>/dev/null); do
	case "$arg" in
	ringvm.selftests.timeout=*) timeout=${arg#*=} ;;
	ringvm.selftests.only=*) only=$(echo "${arg#*=}" | tr ',' ' ') ;;
	esac
done
[ $# -gt 0 ] && only="$*"
if [ -z "$only" ]; then
	for f in /selftests/*_64; do only="$only ${f##*/}"; done
fi

# run_one NAME_64: sets rc (exit status) and res (PASS, FAIL or SKIP).
run_one() {
	# -k: a test that ignores SIGTERM (or is stuck in the kernel) is killed.
	# The output goes to the console as it comes and to a file, to tell a
	# test that printed only [SKIP] yet exits 0 (corrupt_xstate_header).
	{ timeout -k 10 "$timeout" "/selftests/$1" </dev/null 2>&1; echo $? >/tmp/selftest.rc; } |
		tee /tmp/selftest.out
	rc=$(cat /tmp/selftest.rc)
	case $rc in
	0)
		if grep -q '^\[SKIP\]' /tmp/selftest.out && ! grep -q '^\[OK\]' /tmp/selftest.out; then
			res=SKIP
		else
			res=PASS
		fi ;;
	4) res=SKIP ;;
	*) res=FAIL ;;
	esac
}

pass=0 fail=0 skip=0
for t in $only; do
	t=${t##*/}
	case "$t" in *_64) ;; *) t=${t}_64 ;; esac
	name=${t%_64}
	if [ ! -x "/selftests/$t" ]; then
		echo "SELFTEST $name: FAIL (missing)"
		fail=$((fail + 1))
		continue
	fi
	echo "SELFTEST-START $name"
	run_one "$t"
	note=""
	if [ "$res" = FAIL ]; then
		first=$rc
		echo "SELFTEST-RETRY $name (first run: exit $first)"
		run_one "$t"
		note=", first run exit $first"
	fi
	case $res in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
	echo "SELFTEST $name: $res (exit $rc$note)"
done
echo "SELFTESTS DONE: pass=$pass fail=$fail skip=$skip"
