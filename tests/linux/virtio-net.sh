#!/bin/bash
# virtio-net in Debian's stock kernel (issue 4, "Tests"). One boot on the
# user network (--net user,hostfwd=tcp:127.0.0.1:HOSTPORT-:8080):
#   dhcp      busybox udhcpc gets 10.0.2.15/24, the default route via
#             10.0.2.2 and the resolver 10.0.2.3
#   wget      the guest fetches two files (a line of text, 4 MiB of random
#             data) from an HTTP server the host runs on 127.0.0.1, through
#             the gateway address 10.0.2.2, and checks their sha256
#   upload    the guest POSTs 1 MiB of base64 text (wget --post-file); the
#             host's server answers its sha256
#   hostfwd   the guest serves 2 MiB of random data with busybox httpd on
#             port 8080; the host fetches it from 127.0.0.1:HOSTPORT and
#             compares
#   power     poweroff ends the VMM with status 0
# With RVT_TAP=1 (root, /dev/net/tun) a second boot does the same over
# --net tap,ifname=rvtPID: the host's side of the tap is 192.168.77.1/24
# and serves the files, the guest sets 192.168.77.2/24 itself, pings the
# host, and the host fetches from the guest's httpd directly. Not in
# `make test`: it adds a network interface to the host for its duration.
#
# Environment: see tests/linux/virtio-lib.sh (VMM=qemu runs it on QEMU).
set -u
. "$(dirname "$0")/virtio-lib.sh"
rvt_init net

www="$RVT_TMP/www"
mkdir -p "$www"
echo "hello over virtio-net" >"$www/small.txt"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$www/big.bin"
small_sum=$(sha256sum <"$www/small.txt" | cut -d' ' -f1)
big_sum=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)

guest="$RVT_TMP/guest.sh"
cat >"$guest" <<'GUEST'
# Guest side of virtio-net.sh; /rvt/env sets MODE (user|tap), HOST (the
# host's address as the guest sees it), HTTP_PORT, SMALL_SUM, BIG_SUM.
load virtio_pci virtio_net
wait_path /sys/class/net/eth0 || fail eth0 "no eth0"
dmesg -n 4
info mac "$(cat /sys/class/net/eth0/address), features $(cat /sys/class/net/eth0/device/features 2>/dev/null)"
ip link set lo up
check link-up "ip link set eth0 up" ip link set eth0 up
if [ "$MODE" = user ]; then
	if udhcpc -i eth0 -s /rvt/udhcpc.script -q -n -t 10 -T 3 >/tmp/dhcp.log 2>&1; then
		pass dhcp "$(grep '^udhcpc: eth0' /tmp/dhcp.log)"
	else
		fail dhcp "$(tail -n 3 /tmp/dhcp.log | tr '\n' ' ')"
	fi
	expect address 10.0.2.15/24 "$(ip -4 addr show eth0 | sed -n 's/.*inet \([0-9./]*\).*/\1/p')"
	expect route 10.0.2.2 "$(ip route | sed -n 's/^default via \([0-9.]*\).*/\1/p')"
	expect dns "nameserver 10.0.2.3" "$(head -n 1 /etc/resolv.conf)"
else
	check address "192.168.77.2/24" ip addr add 192.168.77.2/24 dev eth0
	check ping "ping -c 3 $HOST" ping -c 3 -W 5 "$HOST"
fi

url="http://$HOST:$HTTP_PORT"
check wget-small "GET $url/small.txt" wget -q -O /tmp/small.txt "$url/small.txt"
expect sum-small "$SMALL_SUM" "$(sum /tmp/small.txt)"
t0=$(cut -d' ' -f1 /proc/uptime)
check wget-big "GET $url/big.bin" wget -q -O /tmp/big.bin "$url/big.bin"
t1=$(cut -d' ' -f1 /proc/uptime)
expect sum-big "$BIG_SUM" "$(sum /tmp/big.bin)"
info wget-rate "4 MiB in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s", b - a }')"
rm -f /tmp/big.bin

# busybox wget sends --post-file as a C string: no NUL bytes, so base64.
dd if=/dev/urandom bs=65536 count=12 2>/dev/null | base64 >/tmp/up.txt
expect upload "$(sum /tmp/up.txt)" "$(wget -q -O - --post-file /tmp/up.txt "$url/upload" 2>&1)"

# A server in the guest for the host to fetch from.
dd if=/dev/urandom of=/www/fwd.bin bs=65536 count=32 2>/dev/null
value fwd.bin "$(sum /www/fwd.bin)"
check httpd "httpd -p 8080" httpd -p 8080 -h /www
host_wait fwd

s=/sys/class/net/eth0/statistics
info stats "rx $(cat $s/rx_packets) packets $(cat $s/rx_bytes) bytes, tx $(cat $s/tx_packets) packets $(cat $s/tx_bytes) bytes, errors rx $(cat $s/rx_errors) tx $(cat $s/tx_errors), dropped rx $(cat $s/rx_dropped) tx $(cat $s/tx_dropped)"
info interrupts "$(grep virtio /proc/interrupts | tr -s ' ' | tr '\n' '|')"
dmesg_check
GUEST

# host_fetch URL FILE: python3 urllib, 120 s; prints the error on failure
host_fetch() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())
PY
}

# boot MODE HOST_ADDR GUEST_URL NET_OPTION: one boot, its checks
boot() {
	local mode=$1 host=$2 gurl=$3 net=$4 initrd want got err t0 t1
	initrd="$RVT_TMP/initrd-$mode.cpio.gz"
	rvt_initrd "$initrd" "$guest" MODE="$mode" HOST="$host" HTTP_PORT="$RVT_HTTP_PORT" \
		SMALL_SUM="$small_sum" BIG_SUM="$big_sum" || exit 1
	rvt_start "$mode" "$initrd" "console=ttyS0" --net "$net"
	if rvt_wait 'RVT-WAIT fwd' "$RVT_TIMEOUT"; then
		want=$(rvt_value fwd.bin)
		t0=$(rvt_now)
		if err=$(host_fetch "$gurl/fwd.bin" "$RVT_TMP/fwd.bin" 2>&1); then
			t1=$(rvt_now)
			got=$(sha256sum <"$RVT_TMP/fwd.bin" | cut -d' ' -f1)
			check host-fetch "$([ "$got" = "$want" ] && echo yes || echo no)" \
				"$gurl/fwd.bin (2 MiB in $(rvt_elapsed "$t0" "$t1") s): $got, the guest has $want"
		else
			check host-fetch no "fetching $gurl/fwd.bin: $(echo "$err" | tail -n 1)"
		fi
		rvt_send "go fwd"
	else
		check host-fetch no "the guest did not get to its HTTP server"
	fi
	rvt_wait 'RVT-DONE' "$RVT_TIMEOUT"
	rvt_wait_exit 60
	check status "$([ "$RVT_STATUS" = 0 ] && echo yes || echo no)" "exit status $RVT_STATUS after the guest's poweroff"
	if [ "$mode" = user ]; then
		rvt_guest_results link-up dhcp address route dns wget-small sum-small wget-big sum-big upload httpd dmesg
	else
		rvt_guest_results link-up address ping wget-small sum-small wget-big sum-big upload httpd dmesg
	fi
	rvt_end_boot
}

rvt_http_server "$www"
fwd_port=$(rvt_free_port)
echo "host HTTP server: 127.0.0.1:$RVT_HTTP_PORT; forward 127.0.0.1:$fwd_port -> guest :8080"
boot user 10.0.2.2 "http://127.0.0.1:$fwd_port" "user,hostfwd=tcp:127.0.0.1:$fwd_port-:8080"

if [ "${RVT_TAP:-0}" = 1 ]; then
	tap="rvt$$"
	if ip tuntap add dev "$tap" mode tap 2>"$RVT_TMP/tap.err"; then
		rvt_at_exit "ip link del '$tap' 2>/dev/null"
		ip addr add 192.168.77.1/24 dev "$tap" && ip link set "$tap" up
		rvt_http_server "$www" 192.168.77.1
		echo "tap $tap: host 192.168.77.1, HTTP server port $RVT_HTTP_PORT"
		boot tap 192.168.77.1 "http://192.168.77.2:8080" "tap,ifname=$tap"
	else
		check tap no "cannot make the tap device $tap: $(cat "$RVT_TMP/tap.err")"
	fi
fi

rvt_finish
