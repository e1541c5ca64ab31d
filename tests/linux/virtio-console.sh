#!/bin/bash
# virtio-console as the guest's console, and virtio-rng (issue 4), one boot
# with --console virtio --rng and the kernel argument console=hvc0 alone:
#   printk     a kernel message (written to /dev/kmsg at level 2) reaches
#              the host: it can only come through hvc0, ttyS0 being no
#              console here. (The log from before virtio_console loaded is
#              not replayed: the kernel flushes its buffer to hvc0 while
#              registering it, before virtio_console can send, and drops it.)
#   consoles   /proc/consoles lists hvc0, enabled
#   rng        /sys/class/misc/hw_random/rng_current is virtio_rng.0; reads of
#              /dev/hwrng give the bytes asked for, not all zero, and two
#              reads differ
#   shell      a shell on hvc0 runs the lines the host types (the VMM's
#              stdin goes to hvc0; read through the tty's canonical mode, as
#              busybox's line editor stops at 1024 characters): a
#              1500-character line goes in intact (its sha256), `seq 1 20000`
#              comes out intact, 64 KiB read from /dev/hwrng in the shell
#   power      `poweroff -f` typed into that shell ends the VMM with status 0
# Until hvc0 exists the guest script writes its progress to /dev/ttyS0
# (lines "rvt-serial: ..."); ringvm prints COM1 on stdout too, QEMU (VMM=qemu)
# writes it to the log's .ttyS0 file.
#
# Environment: see tests/linux/virtio-lib.sh (VMM=qemu runs it on QEMU).
set -u
. "$(dirname "$0")/virtio-lib.sh"
rvt_init console

guest="$RVT_TMP/guest.sh"
cat >"$guest" <<'GUEST'
# Guest side of virtio-console.sh. With console=hvc0 only, /init had no
# console to open: say what happens on COM1 until hvc0 is there.
exec </dev/null >/dev/ttyS0 2>&1
echo "rvt-serial: loading virtio_pci virtio_console virtio-rng"
load virtio_pci virtio_console virtio-rng
if ! wait_path /dev/hvc0; then
	echo "rvt-serial: no /dev/hvc0; powering off"
	poweroff -f
fi
echo "rvt-serial: /dev/hvc0 is there; the rest goes to hvc0"
exec </dev/hvc0 >/dev/hvc0 2>&1
dmesg -n 4
pass hvc0-output "the guest script writes to hvc0"
c=$(grep '^hvc0 ' /proc/consoles)
case "$c" in
*'(E'*) pass consoles "$c" ;;
*) fail consoles "no enabled hvc0 in /proc/consoles: $(tr '\n' '|' </proc/consoles)" ;;
esac
expect rng-current virtio_rng.0 "$(cat /sys/class/misc/hw_random/rng_current)"
expect rng-read 4096 "$(head -c 4096 /dev/hwrng | wc -c)"
a=$(head -c 1024 /dev/hwrng | sha256sum)
b=$(head -c 1024 /dev/hwrng | sha256sum)
z=$(head -c 1024 /dev/zero | sha256sum)
check rng-random "two 1 KiB reads differ and are not zeros" [ "$a" != "$b" -a "$a" != "$z" -a "$b" != "$z" ]
info rng "$(head -c 16 /dev/hwrng | od -An -tx1 | tr -s ' ')"
echo "<2>rvt-kmsg: printk reaches hvc0" >/dev/kmsg
dmesg_check
echo "RVT-SHELL"
while read -r line; do eval "$line"; done
GUEST

initrd="$RVT_TMP/initrd.cpio.gz"
rvt_initrd "$initrd" "$guest" || exit 1
rvt_start hvc0 "$initrd" "console=hvc0" --console virtio --rng
if rvt_wait 'RVT-SHELL' "$RVT_TIMEOUT"; then
	check printk "$(rvt_text | grep -qE '^\[ *[0-9.]+\] rvt-kmsg: printk reaches hvc0' && echo yes || echo no)" \
		"a kernel message came through hvc0 ($(rvt_text | grep -c '^\[ *[0-9]') kernel log lines in all)"
	if rvt_run "cat /proc/consoles"; then
		check shell-consoles "$(printf '%s\n' "$rvt_cmd_out" | grep -q '^hvc0 ' && echo yes || echo no)" \
			"$(printf '%s\n' "$rvt_cmd_out" | tr -s ' ' | tr '\n' '|')"
	else
		check shell-consoles no "no answer from the shell on hvc0"
	fi
	line=$(head -c 3000 /dev/urandom | base64 -w 0 | tr -dc 'A-Za-z0-9' | head -c 1500)
	want=$(printf '%s' "$line" | sha256sum | cut -d' ' -f1)
	if rvt_run "printf '%s' '$line' | sha256sum"; then
		got=$(printf '%s\n' "$rvt_cmd_out" | awk 'NF { print $1; exit }')
		check input-line "$([ "$got" = "$want" ] && echo yes || echo no)" "${#line} characters in: guest sha256 $got, host $want"
	else
		check input-line no "no answer"
	fi
	if rvt_run "seq 1 20000"; then
		got=$(printf '%s\n' "$rvt_cmd_out" | sha256sum | cut -d' ' -f1)
		want=$(seq 1 20000 | sha256sum | cut -d' ' -f1)
		check output-flood "$([ "$got" = "$want" ] && echo yes || echo no)" \
			"seq 1 20000 out: $(printf '%s\n' "$rvt_cmd_out" | wc -l) lines, $([ "$got" = "$want" ] && echo intact || echo "differ from the host's")"
	else
		check output-flood no "no end marker"
	fi
	if rvt_run "head -c 65536 /dev/hwrng | wc -c"; then
		got=$(printf '%s\n' "$rvt_cmd_out" | awk 'NF { print $1; exit }')
		check shell-rng "$([ "$got" = 65536 ] && echo yes || echo no)" "head -c 65536 /dev/hwrng: $got bytes"
	else
		check shell-rng no "no answer"
	fi
	rvt_send "poweroff -f"
else
	check shell no "no shell on hvc0 within ${RVT_TIMEOUT}s"
fi
rvt_wait_exit 120
check status "$([ "$RVT_STATUS" = 0 ] && echo yes || echo no)" "exit status $RVT_STATUS after poweroff -f typed on hvc0"
rvt_guest_results hvc0-output consoles rng-current rng-read rng-random dmesg
rvt_end_boot

rvt_finish
