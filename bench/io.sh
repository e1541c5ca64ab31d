#!/bin/bash
# Virtio I/O throughput of the same guest on ringvm and QEMU (TCG), measured
# in the same run, one boot each (Debian's kernel, the initramfs of
# tests/linux/virtio-lib.sh, the same raw image):
#   disk write  dd if=/dev/zero of=/dev/vda bs=1M count=256 oflag=direct
#   disk read   dd if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct
#   http        busybox wget of a 64 MiB file to /dev/null from a server on
#               the host's 127.0.0.1, through the user network (libslirp)
# busybox dd has iflag=direct and oflag=direct (O_DIRECT). The guest times
# each step with /proc/uptime (10 ms resolution; the guest clock follows
# host time). Prints a table of MiB/s and the ratio ringvm / QEMU.
#
# Usage: bench/io.sh [BUILD_DIR]   (ringvm is BUILD_DIR/ringvm, logs in
# BUILD_DIR/linux). BENCH_VMMS="ringvm qemu" chooses the columns.
set -u
build=${1:-build}
export BUILD=$build RINGVM=${RINGVM:-$build/ringvm}
vmms=${BENCH_VMMS:-ringvm qemu}
VMM=${vmms%% *}
. "$(dirname "$0")/../tests/linux/virtio-lib.sh"
rvt_init bench-io

mib=256 http_mib=64
img="$RVT_TMP/bench.img"
# Written out, not sparse: the first VMM must not pay for the allocation.
dd if=/dev/zero of="$img" bs=1M count=$((mib + 16)) status=none
www="$RVT_TMP/www"
mkdir -p "$www"
head -c $((http_mib * 1024 * 1024)) /dev/urandom >"$www/big.bin"
rvt_http_server "$www"

guest="$RVT_TMP/guest.sh"
cat >"$guest" <<'GUEST'
# Guest side of bench/io.sh; /rvt/env sets MIB, HTTP_MIB, HTTP_PORT.
load virtio_pci virtio_blk virtio_net
wait_path /dev/vda || fail vda "no /dev/vda"
wait_path /sys/class/net/eth0 || fail eth0 "no eth0"
dmesg -n 4
up() { cut -d' ' -f1 /proc/uptime; }
# timed NAME CMD...: runs CMD, prints "RVT-VALUE NAME seconds"
timed() {
	local n=$1 t0 t1 s
	shift
	t0=$(up)
	if "$@" 2>/tmp/err; then
		t1=$(up)
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		value "$n" "$s"
		pass "$n" "$s s"
	else
		fail "$n" "$(tail -n 2 /tmp/err | tr '\n' ' ')"
	fi
}
timed disk-write dd if=/dev/zero of=/dev/vda bs=1M count="$MIB" oflag=direct
timed disk-read dd if=/dev/vda of=/dev/null bs=1M count="$MIB" iflag=direct
ip link set lo up
ip link set eth0 up
if udhcpc -i eth0 -s /rvt/udhcpc.script -q -n -t 10 -T 3 >/tmp/dhcp.log 2>&1; then
	timed http wget -q -O /dev/null "http://10.0.2.2:$HTTP_PORT/big.bin"
else
	fail dhcp "$(tail -n 2 /tmp/dhcp.log | tr '\n' ' ')"
fi
dmesg_check
GUEST

initrd="$RVT_TMP/initrd.cpio.gz"
rvt_initrd "$initrd" "$guest" MIB=$mib HTTP_MIB=$http_mib HTTP_PORT="$RVT_HTTP_PORT" || exit 1

declare -A secs
for VMM in $vmms; do
	if [ "$VMM" = qemu ] && ! command -v "$QEMU" >/dev/null; then
		echo "(no $QEMU: QEMU's column stays empty)"
		continue
	fi
	rvt_start bench "$initrd" "console=ttyS0" --disk "path=$img" --net user
	rvt_wait 'RVT-DONE' "$RVT_TIMEOUT"
	rvt_wait_exit 60
	check status "$([ "$RVT_STATUS" = 0 ] && echo yes || echo no)" "exit status $RVT_STATUS"
	rvt_guest_results disk-write disk-read http dmesg
	rvt_end_boot
	for k in disk-write disk-read http; do
		secs[$VMM,$k]=$(rvt_value "$k")
	done
done

# rate MIB SECONDS: MiB/s, or "-"
rate() {
	if [ -n "$2" ]; then awk -v m="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", m / s; else print "-" }'; else echo -; fi
}
echo
printf '%-34s %12s %12s %8s\n' "" "ringvm MiB/s" "QEMU MiB/s" "ratio"
for k in disk-write disk-read http; do
	case $k in
	disk-write) label="disk write (dd 256 MiB, O_DIRECT)" m=$mib ;;
	disk-read) label="disk read (dd 256 MiB, O_DIRECT)" m=$mib ;;
	http) label="HTTP download (wget 64 MiB)" m=$http_mib ;;
	esac
	r=$(rate "$m" "${secs[ringvm,$k]:-}")
	q=$(rate "$m" "${secs[qemu,$k]:-}")
	ratio=$(awk -v r="$r" -v q="$q" 'BEGIN { if (r + 0 > 0 && q + 0 > 0) printf "%.2f", r / q; else print "-" }')
	printf '%-34s %12s %12s %8s\n' "$label" "$r" "$q" "$ratio"
done
echo "(ratio = ringvm / QEMU (TCG); 1 vCPU, $RVT_MEM RAM, the same raw image on the host's file system; times from the guest's /proc/uptime, 10 ms steps)"
VMM=$(echo $vmms | tr ' ' +)
rvt_finish
