#!/bin/bash
# Boots Debian 12's stock kernel to the busybox shell of scripts/make-initramfs
# for each configuration (entry:cpus; default 64:1 64g:2 64:4 32:1 vmlinux:1 64i:2)
# and checks a running system through the serial console, as issue 3's
# "Tests" asks. The entry is how the kernel starts:
#   64       the bzImage's payload decompressed by ringvm, the vmlinux entered
#            at its 64-bit entry (the default path)
#   64g      the bzImage's 64-bit entry with --decompress guest: the kernel's
#            own decompressor runs in the guest
#   32       the 32-bit entry (always the kernel's own decompressor)
#   vmlinux  the uncompressed ELF vmlinux, taken out of the bzImage by
#            scripts/extract-vmlinux, given as --kernel
#   64i      as 64, on the interpreter (--interpreter): the reference engine
#            boots the same system as the translator
# The checks:
#   boot    the initramfs's /init marker and then the shell prompt appear
#   nproc   equals --cpus
#   dmesg   no line matches the filter below (offending lines are printed)
#   irq     /proc/interrupts: the LAPIC timer (LOC, summed over CPUs) and
#           ttyS0's line (IRQ 4) both increase between two reads 1 s apart
#   date    guest `date +%s` within 5 s of the host's (taken around it)
#   sleep   `sleep 5`: wall time measured by the host from sending the
#           command to seeing its end marker is within 4.5-6 s (a check of
#           the guest clock, not of speed: the guest clock follows host time)
#   power   `poweroff -f` ends ringvm with status 0
# Prints the wall time from start to the init marker and to the prompt.
#
# How commands run: ringvm's stdin is a fifo that this script holds open;
# each command is sent as one line wrapped in markers that the shell computes
# (echo "@@B$((N))@@"; CMD; echo "@@E$((N))@@"), so the tty's echo of the
# typed line never matches and the output is what lies between the two.
#
# dmesg filter (grep -E, case-sensitive, on `dmesg` captured at the end):
#   (^|[^A-Za-z_])BUG([^A-Za-z_]|$)  BUG: lines, not "DEBUG" or "report a bug"
#   Oops  WARNING  Call Trace  soft lockup  timed out
#   [Ff]ailed|FAILED                 any device or driver failure
# Tolerated: "tsc: Fast TSC calibration failed" when dmesg also says
# "tsc: Detected N MHz": the kernel's quick PIT calibration needs a few
# uninterrupted microsecond-scale port reads, which a soft CPU on a loaded
# host cannot promise, and the kernel then calibrates against the PIT or the
# ACPI PM timer instead (it passes on a quiet host). A line that matches
# $LINUX_DMESG_ALLOW (an ERE, default: none) is tolerated too. Lines about
# the clocksource watchdog ("unstable") are printed as notes, not failures.
#
# Environment: RINGVM (default build/ringvm), BUILD (logs in $BUILD/linux),
# LINUX_SHELL_CONFIGS (default "64:1 64g:2 64:4 32:1 vmlinux:1 64i:2"), LINUX_BOOT_TIMEOUT
# seconds to the prompt (default 900), LINUX_CMD_TIMEOUT seconds per command
# (default 120), LINUX_MEM (default 512M), LINUX_REQUIRE=1 to fail instead of
# skip when the kernel or busybox cannot be downloaded.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RINGVM=${RINGVM:-$top/build/ringvm}
BUILD=${BUILD:-build}
CONFIGS=${LINUX_SHELL_CONFIGS:-64:1 64g:2 64:4 32:1 vmlinux:1 64i:2}
BOOT_TIMEOUT=${LINUX_BOOT_TIMEOUT:-900}
CMD_TIMEOUT=${LINUX_CMD_TIMEOUT:-120}
MEM=${LINUX_MEM:-512M}
DMESG_ALLOW=${LINUX_DMESG_ALLOW:-}
DMESG_BAD='(^|[^A-Za-z_])BUG([^A-Za-z_]|$)|Oops|WARNING|Call Trace|soft lockup|timed out|[Ff]ailed|FAILED'
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

kernel=$("$top/scripts/fetch-kernel" --kernel 2>"$logdir/shell-fetch.log") ||
	skip_or_fail "cannot fetch the Debian kernel ($(tail -n 1 "$logdir/shell-fetch.log"))"
initrd=$("$top/scripts/make-initramfs" "$logdir/shell-initramfs.cpio.gz" 2>"$logdir/shell-initramfs.log") ||
	skip_or_fail "cannot build the initramfs ($(tail -n 1 "$logdir/shell-initramfs.log"))"
echo "kernel: $kernel"
echo "initramfs: $initrd"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

fails=0
summary=""
pid="" fifo=""

cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	[ -n "$pid" ] && wait "$pid" 2>/dev/null
	[ -n "$fifo" ] && rm -f "$fifo"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# check NAME OK DETAIL: records one result of the current configuration
check() {
	if [ "$2" = yes ]; then
		echo "   PASS $1: $3"
		res="$res $1=ok"
	else
		echo "   FAIL $1: $3"
		res="$res $1=FAIL"
		fails=$((fails + 1))
	fi
}

# wait_for FIXED_STRING SECONDS [GREP_MODE]: 0 once the string (a regex
# with GREP_MODE -E) is in the output, 1 when the time runs out or ringvm
# ends (one last look then)
wait_for() {
	local deadline mode=${3:--F}
	deadline=$(awk -v t="$(now)" -v s="$2" 'BEGIN { printf "%.0f", t + s }')
	while :; do
		grep -qa "$mode" -- "$1" "$out" && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -qa "$mode" -- "$1" "$out"
			return
		fi
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# run CMD: types CMD into the guest shell between markers; sets $cmd_out
# (the lines between the markers, without CRs), $cmd_wall (seconds from
# sending to the end marker) and $cmd_sent (host time when sent); 1 when
# the end marker does not come within CMD_TIMEOUT
seq_no=0
run() {
	seq_no=$((seq_no + 1))
	local n=$seq_no t0 t1
	t0=$(now)
	cmd_sent=$t0
	printf 'echo "@@B$((%d))@@"; %s; echo "@@E$((%d))@@"\n' "$n" "$1" "$n" >&3
	if ! wait_for "@@E$n@@" "$CMD_TIMEOUT"; then
		cmd_out="" cmd_wall=""
		echo "   (no end marker for '$1' within ${CMD_TIMEOUT}s)"
		return 1
	fi
	t1=$(now)
	cmd_wall=$(elapsed "$t0" "$t1")
	cmd_out=$(tr -d '\r' <"$out" | awk -v b="@@B$n@@" -v e="@@E$n@@" \
		'$0 == e { exit } on { print } $0 == b { on = 1 }')
	return 0
}

# irq_counts: "LOC UART" summed over the CPUs from $cmd_out (/proc/interrupts)
irq_counts() {
	printf '%s\n' "$cmd_out" | awk '
		$1 == "LOC:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) loc += $i }
		$1 == "4:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) uart += $i }
		END { printf "%d %d\n", loc, uart }'
}

for cfg in $CONFIGS; do
	entry=${cfg%%:*} cpus=${cfg#*:}
	tag="$entry-$cpus"
	res=""
	case $entry in
	64|32) boot=(--kernel "$kernel" --boot-entry "$entry") ;;
	64g) boot=(--kernel "$kernel" --boot-entry 64 --decompress guest) ;;
	64i) boot=(--kernel "$kernel" --boot-entry 64 --interpreter) ;;
	vmlinux)
		vmlinux="$logdir/vmlinux"
		if [ ! -s "$vmlinux" ] || [ "$vmlinux" -ot "$kernel" ]; then
			"$top/scripts/extract-vmlinux" "$kernel" "$vmlinux.tmp" && mv "$vmlinux.tmp" "$vmlinux" ||
				{ check boot no "scripts/extract-vmlinux failed"; summary="$summary
$tag:$res"; continue; }
		fi
		boot=(--kernel "$vmlinux") ;;
	*) echo "unknown entry '$entry' in LINUX_SHELL_CONFIGS"; exit 1 ;;
	esac
	out="$logdir/shell-$tag.out" err="$logdir/shell-$tag.err"
	fifo="$logdir/shell-$tag.fifo"
	echo "-- entry $entry, --cpus $cpus (logs: $out)"
	rm -f "$fifo" "$out" "$err"
	mkfifo "$fifo" || { echo "cannot make $fifo"; exit 1; }
	start=$(now)
	"$RINGVM" run "${boot[@]}" --initrd "$initrd" --append "console=ttyS0" \
		--mem "$MEM" --cpus "$cpus" --stats \
		<"$fifo" >"$out" 2>"$err" &
	pid=$!
	# The write end stays open in this shell (fd 3), so ringvm never sees
	# end of file; opening it blocks until ringvm has opened the read end.
	exec 3>"$fifo"

	booted=no
	if wait_for "$MARKER" "$BOOT_TIMEOUT"; then
		t_marker=$(elapsed "$start" "$(now)")
		# The prompt is "/ # " at the start of a line after the marker.
		if wait_for '^/ # ' 120 -E; then
			t_prompt=$(elapsed "$start" "$(now)")
			booted=yes
		fi
	fi
	if [ $booted = no ]; then
		check boot no "no shell prompt within ${BOOT_TIMEOUT}s; last lines:"
		tail -n 8 "$out" | tr -d '\r' | sed 's/^/   | /'
		sed 's/^/   ! /' "$err" | head -n 20
		summary="$summary
$tag:$res"
		exec 3>&-
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=""
		continue
	fi
	check boot yes "init marker after ${t_marker}s, shell prompt after ${t_prompt}s"
	echo "   TIME $tag: start to shell prompt ${t_prompt}s"
	times="${times:-}$tag prompt ${t_prompt}s; "

	# The first command also proves that input reaches the guest UART.
	if run "nproc"; then
		n=$(printf '%s\n' "$cmd_out" | grep -E '^[0-9]+$' | head -n 1)
		check nproc "$([ "$n" = "$cpus" ] && echo yes || echo no)" "guest says '$n', --cpus $cpus (${cmd_wall}s)"
	else
		check nproc no "no answer"
	fi

	if run "cat /proc/interrupts"; then
		first=$(irq_counts)
		first_dump=$cmd_out
		sleep 1
		if run "cat /proc/interrupts"; then
			second=$(irq_counts)
			set -- $first $second
			ok=yes
			[ "$3" -gt "$1" ] || ok=no
			[ "$4" -gt "$2" ] || ok=no
			check irq $ok "LOC $1 -> $3, ttyS0 (IRQ 4) $2 -> $4"
			if [ $ok = no ]; then
				printf '%s\n' "$first_dump" | sed 's/^/   | /'
				printf '%s\n' "$cmd_out" | sed 's/^/   | /'
			fi
		else
			check irq no "no answer to the second read"
		fi
	else
		check irq no "no answer to the first read"
	fi

	host0=$(date +%s)
	if run "date +%s"; then
		host1=$(date +%s)
		g=$(printf '%s\n' "$cmd_out" | grep -E '^[0-9]+$' | head -n 1)
		ok=no
		[ -n "$g" ] && [ "$g" -ge $((host0 - 5)) ] && [ "$g" -le $((host1 + 5)) ] && ok=yes
		check date $ok "guest $g, host $host0..$host1"
	else
		check date no "no answer"
	fi

	if run "sleep 5"; then
		ok=$(awk -v w="$cmd_wall" 'BEGIN { print (w >= 4.5 && w <= 6.0) ? "yes" : "no" }')
		check sleep "$ok" "'sleep 5' took ${cmd_wall}s of host wall time (bounds 4.5-6)"
	else
		check sleep no "no answer"
	fi

	if run "dmesg"; then
		printf '%s\n' "$cmd_out" >"$logdir/shell-$tag.dmesg"
		bad=$(grep -aE -- "$DMESG_BAD" "$logdir/shell-$tag.dmesg")
		if grep -qaE 'tsc: Detected [0-9.]+ MHz' "$logdir/shell-$tag.dmesg"; then
			bad=$(printf '%s\n' "$bad" | grep -avF 'tsc: Fast TSC calibration failed')
		fi
		if [ -n "$DMESG_ALLOW" ] && [ -n "$bad" ]; then
			bad=$(printf '%s\n' "$bad" | grep -avE -- "$DMESG_ALLOW")
		fi
		lines=$(grep -c . "$logdir/shell-$tag.dmesg")
		grep -aE 'unstable|Fast TSC calibration failed' "$logdir/shell-$tag.dmesg" |
			sed 's/^/   note: /'
		if [ -z "$bad" ] && [ "$lines" -gt 50 ]; then
			check dmesg yes "$lines lines, none matches the filter"
		elif [ -z "$bad" ]; then
			check dmesg no "only $lines lines captured (see $logdir/shell-$tag.dmesg)"
		else
			check dmesg no "offending lines:"
			printf '%s\n' "$bad" | sed 's/^/   | /'
		fi
	else
		check dmesg no "no answer"
	fi

	printf 'poweroff -f\n' >&3
	ended=no
	for _ in $(seq 1 "$((CMD_TIMEOUT * 10))"); do
		kill -0 "$pid" 2>/dev/null || { ended=yes; break; }
		sleep 0.1
	done
	exec 3>&-
	if [ $ended = no ]; then
		kill -TERM "$pid" 2>/dev/null
	fi
	wait "$pid"
	status=$?
	pid=""
	check power "$([ $ended = yes ] && [ $status = 0 ] && echo yes || echo no)" \
		"ringvm ended: $ended, status $status; last on stderr: $(tr -d '\r' <"$err" | grep -v 'stats:' | tail -n 2 | tr '\n' ' ')"
	echo "   $(tr -d '\r' <"$err" | grep 'stats:' | sed 's/^ringvm: //')"
	rm -f "$fifo"
	summary="$summary
$tag:$res"
done

echo "== summary (entry-cpus: checks)$summary"
echo "== times: ${times:-none}"
if [ $fails -ne 0 ]; then
	echo "test-linux-shell: $fails check(s) failed; logs in $logdir"
	exit 1
fi
echo "test-linux-shell: every check passed; logs in $logdir"
