#!/bin/sh
# Boots Debian 12's stock kernel (scripts/fetch-kernel) with the busybox
# initramfs (scripts/make-initramfs) to its shell on COM1, types commands
# into the serial console through standard input, checks their output, and
# powers the guest off, which must end ringvm with status 0. Prints the wall
# time to each stage.
#
# Environment: RINGVM (default build/ringvm), BUILD (for the logs),
# LINUX_TIMEOUT seconds for the whole boot (default 400), LINUX_ENTRIES
# (default "64"), LINUX_REQUIRE=1 to fail instead of skip when the kernel
# or busybox cannot be downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RINGVM=${RINGVM:-$top/build/ringvm}
BUILD=${BUILD:-build}
TIMEOUT=${LINUX_TIMEOUT:-400}
ENTRIES=${LINUX_ENTRIES:-64}
APPEND="console=ttyS0 earlycon=uart8250,io,0x3f8"
MARKER="ringvm-initramfs: init running"
logdir="$BUILD/linux"
mkdir -p "$logdir"

skip_or_fail() {
	if [ "${LINUX_REQUIRE:-0}" = 1 ]; then
		echo "FAIL: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 0
}

kernel=$("$top/scripts/fetch-kernel" --kernel 2>"$logdir/fetch.log") ||
	skip_or_fail "cannot fetch the Debian kernel ($(tail -n 1 "$logdir/fetch.log"))"
initrd=$("$top/scripts/make-initramfs" "$logdir/initramfs.cpio.gz" 2>"$logdir/initramfs.log") ||
	skip_or_fail "cannot build the initramfs ($(tail -n 1 "$logdir/initramfs.log"))"
echo "kernel: $kernel"
echo "initramfs: $initrd"

fails=0

# wait_for PATTERN: until the output holds PATTERN (grep -F), the VM ends, or the time is up
wait_for() {
	while :; do
		grep -qaF -- "$1" "$out" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		[ $(($(date +%s) - start)) -ge "$TIMEOUT" ] && return 1
		sleep 1
	done
}

stage() {
	echo "   $1 after $(($(date +%s) - start))s"
}

boot_shell() {
	entry=$1
	out="$logdir/shell-$entry.out" err="$logdir/shell-$entry.err" fifo="$logdir/shell-$entry.in"
	rm -f "$fifo"
	mkfifo "$fifo" || { echo "FAIL: mkfifo $fifo"; fails=$((fails + 1)); return; }
	# Read-write open: neither side blocks, and the guest sees no EOF between commands.
	exec 3<>"$fifo"
	start=$(date +%s)
	"$RINGVM" run --kernel "$kernel" --initrd "$initrd" --boot-entry "$entry" \
		--append "$APPEND" --stats <"$fifo" >"$out" 2>"$err" &
	pid=$!
	echo "-- entry $entry"
	ok=no
	if ! wait_for "Linux version 6.1"; then
		echo "   FAIL: no 'Linux version 6.1'"
	else
		stage "'Linux version 6.1'"
		if ! wait_for "$MARKER"; then
			echo "   FAIL: /init did not run (no '$MARKER')"
		else
			stage "/init running"
			sleep 2
			# $((6*7)) is expanded by the guest's shell: 42 shows only when it ran the line.
			echo 'echo "shell says $((6*7))"; uname -r; grep -c . /proc/interrupts' >&3
			if ! wait_for "shell says 42"; then
				echo "   FAIL: the shell did not answer"
			else
				stage "shell answered"
				ok=yes
			fi
		fi
	fi
	echo 'poweroff -f' >&3
	while kill -0 "$pid" 2>/dev/null && [ $(($(date +%s) - start)) -lt $((TIMEOUT + 30)) ]; do
		sleep 1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	exec 3>&-
	rm -f "$fifo"
	echo "   status $status after $(($(date +%s) - start))s ($(grep 'stats:' "$err" | sed 's/^ringvm: stats: //'))"
	if [ "$ok" = yes ] && [ "$status" -ne 0 ]; then
		echo "   FAIL: poweroff -f gave status $status, want 0"
		ok=no
	fi
	bad=$(grep -aE 'BUG|Oops|WARNING|Call Trace|soft lockup|Kernel panic' "$out" | head -n 5)
	if [ -n "$bad" ]; then
		echo "   FAIL: the kernel log has:"
		echo "$bad" | sed 's/^/   ! /'
		ok=no
	fi
	if [ "$ok" != yes ]; then
		fails=$((fails + 1))
		echo "   the last lines on COM1:"
		tail -n 8 "$out" | tr -d '\r' | sed 's/^/   | /'
		sed 's/^/   ! /' "$err" | head -n 30
	fi
}

for e in $ENTRIES; do
	boot_shell "$e"
done
if [ $fails -ne 0 ]; then
	echo "test-linux shell: $fails boot(s) failed; logs in $logdir"
	exit 1
fi
echo "test-linux shell: the shell answered and the guest powered off; logs in $logdir"
