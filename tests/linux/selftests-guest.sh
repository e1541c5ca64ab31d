#!/bin/sh
# /selftests/run in the selftests initramfs (tests/linux/selftests.sh puts it
# there): runs each kernel x86 selftest in /selftests with a timeout and prints
# one line per test, "SELFTEST name: PASS|FAIL|SKIP (exit N)", then a summary
# line "SELFTESTS DONE: ...". kselftest's exit statuses: 0 pass, 4 skip
# (KSFT_SKIP), anything else fails; a timeout shows as FAIL (exit 124/137).
# A test that exits 0 having printed [SKIP] lines and no [OK] one is a SKIP.
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
	# -k: a test that ignores SIGTERM (or is stuck in the kernel) is killed.
	# The output goes to the console as it comes and to a file, to tell a
	# test that printed only [SKIP] yet exits 0 (corrupt_xstate_header).
	{ timeout -k 10 "$timeout" "/selftests/$t" </dev/null 2>&1; echo $? >/tmp/selftest.rc; } |
		tee /tmp/selftest.out
	rc=$(cat /tmp/selftest.rc)
	case $rc in
	0)
		if grep -q '^\[SKIP\]' /tmp/selftest.out && ! grep -q '^\[OK\]' /tmp/selftest.out; then
			res=SKIP; skip=$((skip + 1))
		else
			res=PASS; pass=$((pass + 1))
		fi ;;
	4) res=SKIP; skip=$((skip + 1)) ;;
	*) res=FAIL; fail=$((fail + 1)) ;;
	esac
	echo "SELFTEST $name: $res (exit $rc)"
done
echo "SELFTESTS DONE: pass=$pass fail=$fail skip=$skip"
