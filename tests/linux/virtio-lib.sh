# virtio-lib.sh - sourced (bash) by tests/linux/virtio-*.sh and bench/io.sh:
# boots Debian's stock kernel with a busybox initramfs that holds the virtio
# modules, runs a guest script in it and reads its result lines off the
# console.
#
# The same test runs on ringvm or, to check the test itself, on QEMU (TCG):
# VMM=ringvm (default) or VMM=qemu. Devices are given in ringvm's syntax
# (--disk, --net, --console virtio, --rng, see docs/cli.md) and translated
# for QEMU by rvt_qemu_args.
#
# The initramfs: scripts/make-initramfs with RVT_MODULES, built once into the
# cache (rebuilt when make-initramfs or the list changes), and, per boot, a
# small second archive appended to it (the kernel unpacks concatenated
# archives in order) that holds the guest script as /init.d/run (the busybox
# /init runs it), the guest library /rvt/lib.sh and the boot's parameters
# /rvt/env (shell assignments).
#
# Guest to host: lines "RVT-PASS name: detail", "RVT-FAIL name: detail",
# "RVT-INFO name: detail", "RVT-VALUE name value", "RVT-WAIT name" (the guest
# then reads "go name" from its console), "RVT-DONE" (before poweroff).
#
# Environment: VMM, RINGVM (default build/ringvm), QEMU (default
# qemu-system-x86_64), BUILD (logs in $BUILD/linux), RVT_MEM (512M),
# RVT_CPUS (1), RVT_TIMEOUT seconds against hangs (600), RVT_KEEP=1 keeps the
# temporary folder, LINUX_REQUIRE=1 fails instead of skipping when the kernel
# or busybox cannot be downloaded.

rvt_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rvt_top=$(cd "$rvt_here/../.." && pwd)
VMM=${VMM:-ringvm}
RINGVM=${RINGVM:-$rvt_top/build/ringvm}
QEMU=${QEMU:-qemu-system-x86_64}
BUILD=${BUILD:-build}
RVT_MEM=${RVT_MEM:-512M}
RVT_CPUS=${RVT_CPUS:-1}
RVT_TIMEOUT=${RVT_TIMEOUT:-600}
RVT_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng crc32c_generic ext4"
rvt_cache="${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}"
rvt_logdir="$BUILD/linux"
mkdir -p "$rvt_logdir"

rvt_name="" RVT_TMP="" RVT_PID="" rvt_fifo="" rvt_helpers="" rvt_exit_cmds=""
rvt_fails=0 rvt_passes=0 rvt_boot_fails=0 rvt_summary=""
RVT_CMD=()

rvt_now() { date +%s.%N; }
rvt_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

rvt_skip_or_fail() {
	if [ "${LINUX_REQUIRE:-0}" = 1 ]; then
		echo "FAIL: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 0
}

rvt_cleanup() {
	local p
	if [ -n "$RVT_PID" ]; then
		kill -KILL "$RVT_PID" 2>/dev/null
		wait "$RVT_PID" 2>/dev/null
	fi
	for p in $rvt_helpers; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$rvt_exit_cmds" ] && eval "$rvt_exit_cmds"
	if [ -n "$RVT_TMP" ] && [ "${RVT_KEEP:-0}" != 1 ]; then
		rm -rf "$RVT_TMP"
	elif [ -n "$RVT_TMP" ]; then
		echo "(kept $RVT_TMP)"
	fi
}

# rvt_init NAME: temporary folder, kernel, the cached initramfs; sets
# RVT_KERNEL, RVT_BASE_INITRD, RVT_TMP
rvt_init() {
	rvt_name=$1
	trap rvt_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	case "$VMM" in
	ringvm) [ -x "$RINGVM" ] || { echo "FAIL: no $RINGVM (build it first)"; exit 1; } ;;
	qemu) command -v "$QEMU" >/dev/null || rvt_skip_or_fail "no $QEMU" ;;
	*) echo "FAIL: VMM is '$VMM', not ringvm or qemu"; exit 1 ;;
	esac
	RVT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-$rvt_name.XXXXXX") || exit 1
	RVT_KERNEL=$("$rvt_top/scripts/fetch-kernel" --kernel 2>"$rvt_logdir/virtio-fetch.log") ||
		rvt_skip_or_fail "cannot fetch the Debian kernel ($(tail -n 1 "$rvt_logdir/virtio-fetch.log"))"
	local kver stamp want
	kver=$(basename "$RVT_KERNEL" | sed 's/^vmlinuz-//')
	RVT_BASE_INITRD="$rvt_cache/initramfs-virtio-$kver.cpio.gz"
	want="$(cksum <"$rvt_top/scripts/make-initramfs") $RVT_MODULES"
	stamp=$(cat "$RVT_BASE_INITRD.stamp" 2>/dev/null)
	if [ ! -s "$RVT_BASE_INITRD" ] || [ "$stamp" != "$want" ]; then
		# Built beside the cached one and renamed: tests running at the
		# same time never read a half-written archive.
		INITRAMFS_MODULES="$RVT_MODULES" "$rvt_top/scripts/make-initramfs" "$RVT_BASE_INITRD.$$" \
			>/dev/null 2>"$rvt_logdir/virtio-initramfs.log" ||
			rvt_skip_or_fail "cannot build the initramfs ($(tail -n 1 "$rvt_logdir/virtio-initramfs.log"))"
		mv "$RVT_BASE_INITRD.$$" "$RVT_BASE_INITRD"
		echo "$want" >"$RVT_BASE_INITRD.stamp"
	fi
	echo "vmm: $VMM ($([ "$VMM" = qemu ] && echo "$QEMU" || echo "$RINGVM"))"
	echo "kernel: $RVT_KERNEL"
	echo "initramfs: $RVT_BASE_INITRD (+ the test's own archive)"
}

# The guest library: sourced by /init.d/run before the test's script.
rvt_guest_lib() {
	cat <<'GUESTLIB'
# /rvt/lib.sh: helpers for the guest scripts of tests/linux/virtio-*.sh
. /rvt/env
pass() { echo "RVT-PASS $1: $2"; }
fail() { echo "RVT-FAIL $1: $2"; }
info() { echo "RVT-INFO $1: $2"; }
value() { echo "RVT-VALUE $1 $2"; }
# check NAME DETAIL CMD...: PASS when CMD succeeds, else FAIL with its output
check() {
	local n="$1" d="$2" o
	shift 2
	if o=$("$@" 2>&1); then pass "$n" "$d"; else fail "$n" "$d: $(echo "$o" | tail -n 3 | tr '\n' ' ')"; fi
}
# expect NAME WANT GOT: PASS when equal
expect() {
	if [ "$2" = "$3" ]; then pass "$1" "$3"; else fail "$1" "got '$3', want '$2'"; fi
}
# load MODULE...: modprobe each, one FAIL line per module that does not load
load() {
	local m o
	for m in "$@"; do
		o=$(modprobe "$m" 2>&1) || fail "modprobe-$m" "$o"
	done
}
# wait_path PATH [SECONDS]: wait for a device node or sysfs file to appear
wait_path() {
	local i=0
	while [ ! -e "$1" ]; do
		[ $i -ge $((${2:-10} * 10)) ] && return 1
		usleep 100000
		i=$((i + 1))
	done
}
# host_wait NAME: tell the host, then wait (up to 600 s) for "go NAME"
host_wait() {
	local line
	echo "RVT-WAIT $1"
	while read -r -t 600 line; do
		case "$line" in *"go $1"*) return 0 ;; esac
	done
	fail "host-wait-$1" "no 'go $1' from the host"
	return 1
}
# sum FILE: its sha256
sum() { sha256sum "$1" | cut -d' ' -f1; }
# irq_count PATTERN: the count of /proc/interrupts lines matching PATTERN
irq_count() {
	grep -E "$1" /proc/interrupts | awk '{ for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }'
}
# dmesg_check: FAIL when the kernel logged a warning, an oops or a virtio error
dmesg_check() {
	local bad
	bad=$(dmesg | grep -E '(^|[^A-Za-z_])BUG([^A-Za-z_]|$)|Oops|WARNING|Call Trace|virtio.*([Ee]rror|[Ff]ail)|blk_update_request|I/O error' |
		grep -v 'write-protected' | head -n 5)
	if [ -z "$bad" ]; then pass dmesg "no warning, oops or virtio error"; else fail dmesg "$(echo "$bad" | tr '\n' '|')"; fi
}
finish() {
	dmesg | grep -iE 'virtio|vd[a-z]|hvc|eth0|hw_random' | sed 's/^/dmesg| /' | tail -n 40
	echo "RVT-DONE"
	sync
	poweroff -f
}
GUESTLIB
}

# rvt_udhcpc_script: busybox udhcpc runs this on its events (bound, renew,
# deconfig); it configures eth0 from the lease's variables.
rvt_udhcpc_script() {
	cat <<'UDHCPC'
#!/bin/sh
# udhcpc event script: set the address, the default route and the resolver.
case "$1" in
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
	if [ -n "$router" ]; then
		ip route del default 2>/dev/null
		for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	fi
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "udhcpc: $interface $ip/${mask:-24} router ${router:-none} dns ${dns:-none}"
	;;
esac
exit 0
UDHCPC
}

# rvt_initrd OUT GUEST_SCRIPT [VAR=VALUE...]: the cached initramfs plus an
# archive holding the guest script (a file) and the parameters
rvt_initrd() {
	local out=$1 script=$2 ov kv
	shift 2
	ov=$(mktemp -d "$RVT_TMP/overlay.XXXXXX")
	mkdir -p "$ov/rvt" "$ov/init.d" "$ov/www" "$ov/mnt" "$ov/ro" "$ov/q"
	rvt_guest_lib >"$ov/rvt/lib.sh"
	rvt_udhcpc_script >"$ov/rvt/udhcpc.script"
	cp "$script" "$ov/rvt/test"
	: >"$ov/rvt/env"
	for kv in "$@"; do
		printf '%s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$ov/rvt/env"
	done
	cat >"$ov/init.d/run" <<'RUN'
#!/bin/sh
# Runs the test's guest script, then powers off (it normally does so itself).
. /rvt/lib.sh
. /rvt/test
finish
RUN
	chmod 755 "$ov/init.d/run" "$ov/rvt/udhcpc.script"
	(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 >"$ov.cpio.gz" || return 1
	cat "$RVT_BASE_INITRD" "$ov.cpio.gz" >"$out"
}

# rvt_qemu_args ARGS...: ringvm's device options as QEMU's; sets RVT_QARGS
rvt_qemu_args() {
	local a v path ro serial ndisk=0 nnet=0 console=serial item kind
	RVT_QARGS=()
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case "$a" in
		--disk | --net | --console | --mem | --cpus) v=$1; shift ;;
		esac
		case "$a" in
		--mem) RVT_QARGS+=(-m "$v") ;;
		--cpus) RVT_QARGS+=(-smp "$v") ;;
		--rng) RVT_QARGS+=(-device virtio-rng-pci,disable-legacy=on) ;;
		--console)
			[ "$v" = virtio ] || { echo "rvt_qemu_args: --console $v" >&2; return 1; }
			console=virtio
			;;
		--disk)
			path="" ro="" serial="" fmt=raw
			case "$v" in
			*=*)
				local IFS=,
				for item in $v; do
					case "$item" in
					path=*) path=${item#path=} ;;
					readonly=on) ro=",readonly=on" ;;
					readonly=off) ;;
					format=*) fmt=${item#format=} ;;
					serial=*) serial=",serial=${item#serial=}" ;;
					*) echo "rvt_qemu_args: --disk item '$item'" >&2; return 1 ;;
					esac
				done
				unset IFS
				;;
			*) path=$v ;;
			esac
			RVT_QARGS+=(-drive "if=none,id=d$ndisk,file=$path,format=$fmt$ro"
				-device "virtio-blk-pci,drive=d$ndisk,disable-legacy=on$serial")
			ndisk=$((ndisk + 1))
			;;
		--net)
			kind=${v%%,*}
			case "$kind" in
			user) RVT_QARGS+=(-netdev "user,id=n$nnet${v#user}") ;;
			tap) RVT_QARGS+=(-netdev "tap,id=n$nnet,script=no,downscript=no${v#tap}") ;;
			*) echo "rvt_qemu_args: --net $v" >&2; return 1 ;;
			esac
			RVT_QARGS+=(-device "virtio-net-pci,netdev=n$nnet,disable-legacy=on")
			nnet=$((nnet + 1))
			;;
		*) echo "rvt_qemu_args: option '$a'" >&2; return 1 ;;
		esac
	done
	if [ $console = virtio ]; then
		# ringvm's --console virtio: stdin to hvc0, COM1 and hvc0 out on
		# stdout. QEMU has one stdio: hvc0 gets it, COM1 goes to a file
		# beside the log ($out.ttyS0).
		RVT_QARGS+=(-serial "file:$rvt_out.ttyS0" -device virtio-serial-pci,disable-legacy=on
			-chardev stdio,id=vc0,signal=off -device virtconsole,chardev=vc0)
	else
		RVT_QARGS+=(-serial stdio)
	fi
}

# rvt_start TAG INITRD APPEND [DEVICE OPTIONS...]: starts the VMM in the
# background (stdin: a fifo held open on fd 3); sets RVT_PID, rvt_out
# (console log), rvt_err (stderr log), RVT_CMD
rvt_start() {
	local tag=$1 initrd=$2 append=$3
	shift 3
	rvt_tag=$tag
	rvt_out="$rvt_logdir/virtio-$rvt_name-$VMM-$tag.out"
	rvt_err="$rvt_logdir/virtio-$rvt_name-$VMM-$tag.err"
	rvt_fifo="$RVT_TMP/$tag.fifo"
	rm -f "$rvt_out" "$rvt_err" "$rvt_out.ttyS0" "$rvt_fifo"
	mkfifo "$rvt_fifo" || exit 1
	rvt_boot_fails=0
	if [ "$VMM" = qemu ]; then
		rvt_qemu_args --mem "$RVT_MEM" --cpus "$RVT_CPUS" "$@" || exit 1
		RVT_CMD=("$QEMU" -M pc -accel tcg -display none -monitor none -nodefaults -no-reboot
			-kernel "$RVT_KERNEL" -initrd "$initrd" -append "$append" "${RVT_QARGS[@]}")
	else
		RVT_CMD=("$RINGVM" run --kernel "$RVT_KERNEL" --initrd "$initrd" --append "$append"
			--mem "$RVT_MEM" --cpus "$RVT_CPUS" --stats "$@")
	fi
	echo "-- $rvt_name/$tag on $VMM (log: $rvt_out)"
	rvt_t0=$(rvt_now)
	"${RVT_CMD[@]}" <"$rvt_fifo" >"$rvt_out" 2>"$rvt_err" &
	RVT_PID=$!
	# Opening the write end blocks until the VMM has opened the read end;
	# holding it keeps the VMM from seeing end of file.
	exec 3>"$rvt_fifo"
}

# rvt_text: the console log without CRs
rvt_text() { tr -d '\r' <"$rvt_out"; }

# rvt_wait ERE SECONDS: 0 once a console line matches, 1 when the time runs
# out or the VMM ends first (after one last look)
rvt_wait() {
	local deadline
	deadline=$(($(date +%s) + $2))
	while :; do
		grep -qaE -- "$1" "$rvt_out" && return 0
		if ! kill -0 "$RVT_PID" 2>/dev/null; then
			grep -qaE -- "$1" "$rvt_out"
			return
		fi
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# rvt_send LINE: types LINE into the guest's console
rvt_send() { printf '%s\n' "$1" >&3; }

# rvt_run CMD: types CMD into a guest shell between markers the shell
# computes (so the tty's echo of the line never matches); sets rvt_cmd_out
# (the lines between them); 1 when the end marker does not come in 120 s
rvt_seq=0
rvt_run() {
	rvt_seq=$((rvt_seq + 1))
	local n=$rvt_seq
	printf 'echo "@@B$((%d))@@"; %s; echo "@@E$((%d))@@"\n' "$n" "$1" "$n" >&3
	rvt_cmd_out=""
	rvt_wait "^@@E$n@@" 120 || return 1
	rvt_cmd_out=$(rvt_text | awk -v b="@@B$n@@" -v e="@@E$n@@" \
		'$0 == e { exit } on { print } $0 == b { on = 1 }')
}

# rvt_value NAME: the last "RVT-VALUE NAME v" of the guest
rvt_value() {
	rvt_text | sed -n "s/.*RVT-VALUE $1 \\([^ ]*\\).*/\\1/p" | tail -n 1
}

# rvt_wait_exit SECONDS: waits for the VMM's end; sets RVT_STATUS (the exit
# status; "timeout" after SIGKILL when it did not end in time)
rvt_wait_exit() {
	local i
	exec 3>&-
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$RVT_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$RVT_PID" 2>/dev/null; then
		kill -KILL "$RVT_PID" 2>/dev/null
		wait "$RVT_PID" 2>/dev/null
		RVT_STATUS=timeout
	else
		wait "$RVT_PID"
		RVT_STATUS=$?
	fi
	RVT_PID=""
	rvt_secs=$(rvt_elapsed "$rvt_t0" "$(rvt_now)")
}

# rvt_kill9: SIGKILL at once (the no-lost-data test)
rvt_kill9() {
	kill -KILL "$RVT_PID" 2>/dev/null
	wait "$RVT_PID" 2>/dev/null
	RVT_STATUS=killed
	RVT_PID=""
	exec 3>&-
}

# check NAME yes|no DETAIL: one result
check() {
	if [ "$2" = yes ]; then
		echo "   PASS $1: $3"
		rvt_passes=$((rvt_passes + 1))
	else
		echo "   FAIL $1: $3"
		rvt_fails=$((rvt_fails + 1))
		rvt_boot_fails=$((rvt_boot_fails + 1))
		rvt_summary="$rvt_summary $rvt_tag/$1"
	fi
}

# rvt_guest_results NAME...: every guest PASS/FAIL line becomes a result;
# each NAME must have a PASS line
rvt_guest_results() {
	local line n d want
	while IFS= read -r line; do
		case "$line" in
		RVT-PASS\ *) n=${line#RVT-PASS }; d=${n#*: }; check "guest:${n%%:*}" yes "$d" ;;
		RVT-FAIL\ *) n=${line#RVT-FAIL }; d=${n#*: }; check "guest:${n%%:*}" no "$d" ;;
		RVT-INFO\ *) echo "   info ${line#RVT-INFO }" ;;
		esac
	done < <(rvt_text | grep -aoE 'RVT-(PASS|FAIL|INFO) .*')
	for want in "$@"; do
		rvt_text | grep -qaE "RVT-(PASS|FAIL) $want:" ||
			check "guest:$want" no "no result line from the guest"
	done
}

# rvt_quote ARGS...: the words, quoted for a shell where they need it
rvt_quote() {
	local a
	for a in "$@"; do
		case "$a" in
		*[!A-Za-z0-9_./=,:+@%-]* | "") printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
}

# rvt_end_boot: after a boot, with failures, the command and the log's end
rvt_end_boot() {
	echo "   (${rvt_secs:-?}s; status ${RVT_STATUS:-?})"
	[ "$VMM" = ringvm ] && grep -a 'stats:' "$rvt_err" | sed 's/^ringvm: /   /'
	if [ "$rvt_boot_fails" -gt 0 ]; then
		echo "   command (RVT_KEEP=1 keeps its files):$(rvt_quote "${RVT_CMD[@]}")"
		echo "   last 50 lines of $rvt_out:"
		rvt_text | tail -n 50 | sed 's/^/   | /'
		if [ -s "$rvt_out.ttyS0" ]; then
			echo "   last 20 lines of $rvt_out.ttyS0 (COM1):"
			tr -d '\r' <"$rvt_out.ttyS0" | tail -n 20 | sed 's/^/   | /'
		fi
		if [ -s "$rvt_err" ]; then
			echo "   stderr:"
			tail -n 20 "$rvt_err" | sed 's/^/   ! /'
		fi
	fi
}

# rvt_free_port: a free TCP port on 127.0.0.1
rvt_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# rvt_at_exit CMD: runs CMD (a shell line) when the test ends
rvt_at_exit() { rvt_exit_cmds="$rvt_exit_cmds $1;"; }

# rvt_http_server DIR [ADDR]: serves DIR on ADDR (default 127.0.0.1) at a
# free port (GET; POST /upload answers the body's sha256); sets
# RVT_HTTP_PORT. Several servers may run; the last one's port is kept.
rvt_http_server() {
	local portfile i
	portfile=$(mktemp -u "$RVT_TMP/http.port.XXXXXX")
	python3 - "$1" "$portfile" "${2:-127.0.0.1}" >"$portfile.log" 2>&1 <<'PY' &
import functools, hashlib, http.server, os, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        h = hashlib.sha256()
        while n > 0:
            b = self.rfile.read(min(n, 65536))
            if not b:
                break
            h.update(b)
            n -= len(b)
        body = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
srv = http.server.ThreadingHTTPServer((sys.argv[3], 0), functools.partial(Handler, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
PY
	rvt_helpers="$rvt_helpers $!"
	for ((i = 0; i < 100; i++)); do
		[ -s "$portfile" ] && break
		sleep 0.1
	done
	RVT_HTTP_PORT=$(cat "$portfile" 2>/dev/null)
	[ -n "$RVT_HTTP_PORT" ] || { echo "FAIL: the HTTP server did not start: $(cat "$portfile.log")"; exit 1; }
}

# rvt_finish: the summary line and the exit status
rvt_finish() {
	if [ "$rvt_fails" -ne 0 ]; then
		echo "virtio-$rvt_name ($VMM): $rvt_fails check(s) failed:$rvt_summary; logs in $rvt_logdir"
		exit 1
	fi
	echo "virtio-$rvt_name ($VMM): all $rvt_passes checks passed; logs in $rvt_logdir"
	exit 0
}
