#!/bin/sh
# A hypervisor inside ringvm (issue 9): boots Debian 12's stock kernel with
# --cpu svm=on and a busybox initramfs holding the kernel package's kvm and
# kvm_amd modules and tests/linux/kvm-api/kvm_api (built static by
# tests/linux/linux.mk). The guest loads kvm_amd, which must find SVM and
# log no warning, /dev/kvm must appear, and kvm_api must pass: real-mode and
# long-mode L2 guests run through the /dev/kvm API, every port, MMIO and HLT
# exit checked, about 10,000 of them. Once per engine: the translator, then
# the interpreter (--interpreter), on 1 vCPU; then the translator on 2
# (kvm_amd turns SVM on in every CPU). Prints kvm_api's exit round-trip
# times.
#
# Environment: RINGVM (default build/ringvm), BUILD (for the logs and the
# kvm_api binary), KVM_API_TIMEOUT seconds per boot (default 600),
# LINUX_REQUIRE=1 to fail instead of skip when the kernel cannot be
# downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
. "$here/guestlib.sh"
TIMEOUT=${KVM_API_TIMEOUT:-600}
prog="$BUILD/tests/linux/kvm_api"

[ -x "$prog" ] || { echo "FAIL: no $prog (run through 'make test-kvm-api')"; exit 1; }
need_kernel

extra=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-kvm-api.XXXXXX")
trap 'rm -rf "$extra"' EXIT
mkdir -p "$extra/init.d"
cp "$prog" "$extra/kvm_api"
cp "$here/kvm-api/init.sh" "$extra/init.d/run"
chmod 755 "$extra/kvm_api" "$extra/init.d/run"
initrd="$cache/initramfs-kvm-api.cpio.gz"
INITRAMFS_EXTRA="$extra" INITRAMFS_MODULES="kvm_amd" "$top/scripts/make-initramfs" "$initrd" \
	>/dev/null 2>"$logdir/kvm-api-initramfs.log" ||
	{ cat "$logdir/kvm-api-initramfs.log" >&2; echo "FAIL: scripts/make-initramfs"; exit 1; }

fails=0
# has FILE PATTERN WHAT: the guest printed a line matching PATTERN (grep -E).
has() {
	if tr -d '\r' <"$1" | grep -aEq -- "$2"; then
		return 0
	fi
	echo "FAIL: $3"
	fails=$((fails + 1))
	return 1
}

for config in translator:1 interpreter:1 translator:2; do
	engine=${config%:*}
	cpus=${config#*:}
	opt=
	[ "$engine" = interpreter ] && opt=--interpreter
	out="$logdir/kvm-api-$engine-$cpus.out" err="$logdir/kvm-api-$engine-$cpus.err"
	echo "running: $RINGVM run --cpu svm=on --mem 512M --cpus $cpus $opt (log: $out)"
	timeout -k 10 "$TIMEOUT" "$RINGVM" run --kernel "$kernel" --initrd "$initrd" --mem 512M --cpus "$cpus" \
		--cpu svm=on $opt --append "console=ttyS0 quiet" --stats >"$out" 2>"$err" </dev/null
	status=$?
	before=$fails
	has "$out" '^kvm-api: kvm_amd loaded' "$engine, $cpus vCPU(s): kvm_amd did not load" &&
		has "$out" '^kvm-api: /dev/kvm is there' "$engine, $cpus vCPU(s): no /dev/kvm" &&
		has "$out" '^kvm_api: all passed' "$engine, $cpus vCPU(s): kvm_api: $(tr -d '\r' <"$out" | grep -a '^kvm_api: FAIL' || echo 'no result')"
	tr -d '\r' <"$out" | grep -a '^kvm_api: .*passed' | sed "s/^/$engine, $cpus vCPU(s): /"
	# kvm_amd warns, and the kernel traces, on what it finds wrong in the
	# CPU: an MSR that faults, a feature that contradicts another.
	if ! guest_log_clean "$out" 'WARNING:|BUG:|Oops|Call Trace|unchecked MSR|kvm.*(fail|error|disabled by bios)' -i \
		>"$logdir/kvm-api.warn"; then
		echo "FAIL: $engine, $cpus vCPU(s): the guest kernel logged a warning:"
		cat "$logdir/kvm-api.warn"
		fails=$((fails + 1))
	fi
	if [ "$status" != 0 ]; then
		echo "FAIL: $engine, $cpus vCPU(s): ringvm ended with status $status (expected 0 from the guest's poweroff)"
		tail -n 5 "$err"
		fails=$((fails + 1))
	fi
	[ "$fails" = "$before" ] && echo "PASS: $engine, $cpus vCPU(s): kvm_amd and /dev/kvm in the guest, kvm_api's L2 guests"
done
[ "$fails" = 0 ]
