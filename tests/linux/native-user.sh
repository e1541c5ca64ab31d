#!/bin/sh
# Native user code (--native-user): boots Debian 12's stock kernel with a
# busybox initramfs holding tests/linux/native-user/native_user (built
# static by tests/linux/linux.mk), which checks what a process sees when
# its code runs on the host CPU: results, faults and signals, CPUID and
# RDTSC, system calls, fork, threads, self-modifying code, remapped and
# split huge pages. Runs it on the translator alone (the reference), with
# --native-user as users get it, with every user process on the host CPU
# from its first instruction (RINGVM_NATIVE_HOT_US=0), and so on 2 vCPUs.
# Each run must pass all checks, print the translator's digest, and (but
# the first) have run code natively (--stats).
#
# Environment: RINGVM (default build/ringvm), BUILD (for the logs and the
# native_user binary), NATIVE_USER_TIMEOUT seconds per boot (default 600),
# LINUX_REQUIRE=1 to fail instead of skip when the kernel cannot be
# downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/guestlib.sh"
TIMEOUT=${NATIVE_USER_TIMEOUT:-600}
prog="$BUILD/tests/linux/native_user"

[ -x "$prog" ] || { echo "FAIL: no $prog (run through 'make test-native-user')"; exit 1; }
need_kernel

extra=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-native-user.XXXXXX")
trap 'rm -rf "$extra"' EXIT
mkdir -p "$extra/init.d"
cp "$prog" "$extra/native_user"
cp "$here/native-user/init.sh" "$extra/init.d/run"
chmod 755 "$extra/native_user" "$extra/init.d/run"
initrd="$cache/initramfs-native-user.cpio.gz"
INITRAMFS_EXTRA="$extra" "$top/scripts/make-initramfs" "$initrd" >/dev/null 2>"$logdir/native-user-initramfs.log" ||
	{ cat "$logdir/native-user-initramfs.log" >&2; echo "FAIL: scripts/make-initramfs"; exit 1; }

fails=0
want=
for config in translator:1:- native:1:- all-native:1:0 all-native:2:0; do
	name=${config%%:*}
	rest=${config#*:}
	cpus=${rest%%:*}
	hot=${rest#*:}
	opt=--native-user=on
	[ "$name" = translator ] && opt=--native-user=off
	out="$logdir/native-user-$name-$cpus.out" err="$logdir/native-user-$name-$cpus.err"
	env=
	[ "$hot" != - ] && env="RINGVM_NATIVE_HOT_US=$hot "
	echo "running: $env$RINGVM run --mem 512M --cpus $cpus $opt (log: $out)"
	if [ "$hot" = - ]; then
		timeout -k 10 "$TIMEOUT" "$RINGVM" run --kernel "$kernel" --initrd "$initrd" --mem 512M --cpus "$cpus" \
			$opt --append "console=ttyS0 quiet" --stats >"$out" 2>"$err" </dev/null
	else
		RINGVM_NATIVE_HOT_US=$hot timeout -k 10 "$TIMEOUT" "$RINGVM" run --kernel "$kernel" --initrd "$initrd" \
			--mem 512M --cpus "$cpus" $opt --append "console=ttyS0 quiet" --stats >"$out" 2>"$err" </dev/null
	fi
	status=$?
	before=$fails
	tr -d '\r' <"$out" | grep -a '^native_user: FAIL' | sed "s/^/$name, $cpus vCPU(s): /"
	if ! tr -d '\r' <"$out" | grep -aq '^native_user: all passed'; then
		echo "FAIL: $name, $cpus vCPU(s): native_user did not pass"
		fails=$((fails + 1))
	fi
	digest=$(tr -d '\r' <"$out" | sed -n 's/^native_user: digest //p')
	if [ -z "$want" ]; then
		want=$digest
	elif [ "$digest" != "$want" ]; then
		echo "FAIL: $name, $cpus vCPU(s): digest $digest, the translator's is $want"
		fails=$((fails + 1))
	fi
	if grep -q 'native user code is off: cannot start' "$err"; then
		skip_or_fail "$(grep 'native user code is off' "$err" | head -n 1)"
	fi
	if grep -q 'native user code is off' "$err"; then
		echo "FAIL: $name, $cpus vCPU(s): $(grep 'native user code is off' "$err" | head -n 1)"
		fails=$((fails + 1))
	fi
	if [ "$name" != translator ] && ! grep -q 'stats: native user code' "$err"; then
		echo "FAIL: $name, $cpus vCPU(s): no user code ran natively: $(grep 'native' "$err" | head -n 1)"
		fails=$((fails + 1))
	fi
	grep 'stats: native user code' "$err" | sed "s/^ringvm: stats: /$name, $cpus vCPU(s): /"
	if ! guest_log_clean "$out" 'WARNING:|BUG:|Oops|Call Trace|segfault' >"$logdir/native-user.warn"; then
		echo "FAIL: $name, $cpus vCPU(s): the guest kernel logged a warning:"
		cat "$logdir/native-user.warn"
		fails=$((fails + 1))
	fi
	if [ "$status" != 0 ]; then
		echo "FAIL: $name, $cpus vCPU(s): ringvm ended with status $status (expected 0 from the guest's poweroff)"
		tail -n 5 "$err"
		fails=$((fails + 1))
	fi
	[ "$fails" = "$before" ] && echo "PASS: $name, $cpus vCPU(s): native_user's checks, digest $digest"
done
[ "$fails" = 0 ]
