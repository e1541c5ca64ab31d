#!/bin/sh
# Boots Debian 12's stock kernel (scripts/fetch-kernel) through the Linux boot
# protocol, once per entry (64: decompressed by ringvm, 32: by the kernel's
# own decompressor), with the serial console and earlycon, and checks how far
# it gets: the kernel must print "Linux version 6.1" on COM1. Then it reports the last lines printed
# before the kernel stopped making progress (timer calibration while the PC
# platform lacks a PIT and PIC) and how the run ended.
#
# Environment: RINGVM (default build/ringvm), BUILD (for the logs),
# LINUX_TIMEOUT seconds per boot (default 300; the soft CPU needs ~40 s to
# decompress), LINUX_STALL seconds of silence that count as stopped
# (default 20), LINUX_ENTRIES (default "64 32"), LINUX_REQUIRE=1 to fail
# instead of skip when the kernel cannot be downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RINGVM=${RINGVM:-$top/build/ringvm}
BUILD=${BUILD:-build}
TIMEOUT=${LINUX_TIMEOUT:-300}
STALL=${LINUX_STALL:-20}
ENTRIES=${LINUX_ENTRIES:-64 32}
APPEND="console=ttyS0 earlycon=uart8250,io,0x3f8"
logdir="$BUILD/linux"
mkdir -p "$logdir"

if ! kernel=$("$top/scripts/fetch-kernel" --kernel 2>"$logdir/fetch.log"); then
	cat "$logdir/fetch.log" >&2
	if [ "${LINUX_REQUIRE:-0}" = 1 ]; then
		echo "FAIL: cannot fetch the Debian kernel"
		exit 1
	fi
	echo "SKIP: cannot fetch the Debian kernel (no network or apt lists?)"
	exit 0
fi
echo "kernel: $kernel"

fails=0

# boot ENTRY STOP_AT_VERSION: runs one boot, sets $verdict
boot() {
	entry=$1 early_stop=$2
	out="$logdir/boot-$entry.out" err="$logdir/boot-$entry.err"
	"$RINGVM" run --kernel "$kernel" --boot-entry "$entry" --append "$APPEND" \
		--stats >"$out" 2>"$err" </dev/null &
	pid=$!
	start=$(date +%s)
	seen="" last_size=-1 last_change=$start ended=""
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			ended=yes
			break
		fi
		now=$(date +%s)
		if [ -z "$seen" ] && grep -qa "Linux version 6\.1" "$out"; then
			seen=$((now - start))
			[ "$early_stop" = yes ] && break
		fi
		size=$(wc -c <"$out")
		if [ "$size" != "$last_size" ]; then
			last_size=$size last_change=$now
		fi
		[ -n "$seen" ] && [ $((now - last_change)) -ge "$STALL" ] && break
		[ $((now - start)) -ge "$TIMEOUT" ] && break
		sleep 1
	done
	[ -z "$ended" ] && kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	status=$?
	total=$(($(date +%s) - start))

	echo "-- entry $entry: status $status after ${total}s ($(tr -d '\r' <"$err" | grep 'stats:' | sed 's/^ringvm: stats: //'))"
	if [ -n "$seen" ]; then
		echo "   'Linux version 6.1' after ${seen}s"
	else
		echo "   FAIL: no 'Linux version 6.1' on the serial port"
		fails=$((fails + 1))
	fi
	echo "   $(wc -l <"$out") lines on COM1; the last ones:"
	tail -n 5 "$out" | tr -d '\r' | sed 's/^/   | /'
	if [ -n "$ended" ]; then
		echo "   the VM ended by itself; stderr:"
		sed 's/^/   ! /' "$err" | head -n 30
	fi
}

for e in $ENTRIES; do
	# The first entry runs until the kernel stops making progress, to show
	# how far it gets; the others stop once the kernel has announced itself.
	if [ "$e" = "$(echo $ENTRIES | cut -d' ' -f1)" ]; then
		boot "$e" no
	else
		boot "$e" yes
	fi
done

if [ $fails -ne 0 ]; then
	echo "test-linux: $fails boot(s) failed; logs in $logdir"
	exit 1
fi
echo "test-linux: every entry reached 'Linux version 6.1'; logs in $logdir"
