#!/bin/sh
# The jobs of `make bench` (bench/linux.sh), timed where they run: in the
# guest (the busybox initramfs's /init runs this file as /init.d/run when
# scripts/make-initramfs builds it with INITRAMFS_BENCH=1; it ends with
# poweroff -f) and on the host (busybox sh, RVBENCH_NATIVE=1, the CPU jobs
# only), with the same busybox binary and the same data both times.
#
# Parameters: rvbench.NAME=VALUE on the kernel command line (the kernel
# ignores unknown dotted names and leaves them in /proc/cmdline), or
# RVBENCH_NAME in the environment, which wins:
#   mib     size of the data for md5sum and gzip -9, in MiB (64)
#   forks   fork+exec of /bin/true (1000)
#   bytes   dd bs=1 count=bytes from /dev/zero to /dev/null: a read and a
#           write system call per byte (200000)
#   jobs    which jobs run: any of md5sum gzip fork syscall, comma-separated
#           ("none": boot only; default all four)
#   dir     a tmpfs folder for the data (the guest mounts one at /bench)
#
# The data: the busybox binary itself, repeated and cut to mib MiB. It is the
# same file on the host and in the guest, so the bytes and md5 agree; and it
# is realistic to compress (machine code, tables and strings: gzip -9 makes
# about 1.9:1 of it, neither the trivial ratio of zeros nor the incompressible
# work of random bytes). Each copy is 1.9 MiB, far beyond gzip's 32 KiB
# window, so repeating it does not make compression easier.
#
# Clock: ash's $EPOCHREALTIME (microseconds, no process started to read it);
# both VMMs keep the guest clock on host real time.
#
# Output, one line each: "RVBENCH-VALUE figure seconds",
# "RVBENCH-INFO key value", "RVBENCH-FAIL figure reason", "RVBENCH-DONE".

bb=${RVBENCH_BUSYBOX:-/bin/busybox}

# param NAME DEFAULT: $RVBENCH_NAME (NAME in capitals), else rvbench.name=
# of /proc/cmdline
param() {
	local v name
	eval "v=\${RVBENCH_$1:-}"
	if [ -z "$v" ] && [ -z "${RVBENCH_NATIVE:-}" ] && [ -r /proc/cmdline ]; then
		name=$(echo "$1" | tr A-Z a-z)
		v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^rvbench\.$name=//p" | tail -n 1)
	fi
	echo "${v:-$2}"
}

mib=$(param MIB 64)
forks=$(param FORKS 1000)
bytes=$(param BYTES 200000)
jobs=$(param JOBS md5sum,gzip,fork,syscall)
dir=$(param DIR /bench)

value() { echo "RVBENCH-VALUE $1 $2"; }
info() { echo "RVBENCH-INFO $1 $2"; }
fail() { echo "RVBENCH-FAIL $1 $2"; }
wants() { case ",$jobs," in *",$1,"*) return 0 ;; esac; return 1; }

# $EPOCHREALTIME is "seconds.microseconds"; subtract the two parts apart so
# that no float has to hold 16 digits.
# since T0: seconds from T0 to now
since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {
		split(a, x, "."); split(b, y, ".")
		printf "%.6f", (y[1] - x[1]) + (y[2] - x[2]) / 1e6 }'
}

finish() {
	echo "RVBENCH-DONE"
	if [ -z "${RVBENCH_NATIVE:-}" ]; then
		# The tty may still hold the last lines; give the UART time to send
		# them before the power goes.
		sleep 1
		poweroff -f
	fi
	exit 0
}

case "$EPOCHREALTIME" in
*.??????) ;;
*)
	fail clock "no \$EPOCHREALTIME in this shell"
	finish
	;;
esac

if [ -z "${RVBENCH_NATIVE:-}" ]; then
	mkdir -p "$dir"
	mount -t tmpfs -o size=75% tmpfs "$dir" || fail tmpfs "cannot mount a tmpfs on $dir"
	info kernel "$(uname -r)"
fi
info params "mib=$mib forks=$forks bytes=$bytes jobs=$jobs"

if wants md5sum || wants gzip; then
	# stat, not wc -c, which would read the file: the line printed last
	# before a job must be printed just before it starts (the report checks
	# the guest's times against the host's arrival times of the lines).
	t0=$EPOCHREALTIME
	size=$(stat -c %s "$bb")
	want=$((mib * 1048576))
	: >"$dir/data"
	i=0
	while [ $(((i + 1) * size)) -le $want ]; do
		cat "$bb" >>"$dir/data"
		i=$((i + 1))
	done
	head -c $((want - i * size)) "$bb" >>"$dir/data"
	got=$(stat -c %s "$dir/data")
	[ "$got" -eq "$want" ] || fail data "wrote $got bytes, not $want"
	info data_s "$(since "$t0")"
fi

if wants md5sum; then
	t0=$EPOCHREALTIME
	if sum=$("$bb" md5sum "$dir/data"); then
		value md5sum_s "$(since "$t0")"
		info md5 "${sum%% *}"
	else
		fail md5sum_s "md5sum failed"
	fi
fi

if wants gzip; then
	t0=$EPOCHREALTIME
	if "$bb" gzip -9 -c "$dir/data" >"$dir/data.gz"; then
		value gzip9_s "$(since "$t0")"
		info gzip_bytes "$(stat -c %s "$dir/data.gz")"
	else
		fail gzip9_s "gzip -9 failed"
	fi
	rm -f "$dir/data.gz"
fi
rm -f "$dir/data"

if wants fork; then
	# A path with a slash makes ash fork and execve even where it could run
	# an applet in-process; /proc/stat's "processes" counts the forks.
	p0=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	t0=$EPOCHREALTIME
	i=0
	while [ $i -lt "$forks" ]; do
		/bin/true
		i=$((i + 1))
	done
	s=$(since "$t0")
	p1=$(awk '$1 == "processes" { print $2 }' /proc/stat)
	value fork_exec_s "$s"
	# The count includes the few processes of the two lines above.
	info forks_counted "$((p1 - p0))"
fi

if wants syscall; then
	t0=$EPOCHREALTIME
	if "$bb" dd if=/dev/zero of=/dev/null bs=1 count="$bytes" 2>"$dir/dd.err"; then
		value dd_syscalls_s "$(since "$t0")"
		info dd "$(head -n 1 "$dir/dd.err")"
	else
		fail dd_syscalls_s "$(tr '\n' ' ' <"$dir/dd.err")"
	fi
	rm -f "$dir/dd.err"
fi

finish
