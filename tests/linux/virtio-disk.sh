#!/bin/bash
# virtio-blk in Debian's stock kernel (issue 4, "Tests"): two boots, each
# with a read-write ext4 disk (vda) made at test time with mkfs.ext4 -d from
# a folder of random files with known sha256 sums, and a read-only one (vdb).
#
# Boot 1, MSI-X (the kernel's default):
#   identity  vda's size and serial, vdb read-only (sysfs)
#   irq       the virtio-blk queue's interrupts arrive as PCI-MSI
#   sums      the guest mounts vda and checks every file (sha256sum -c),
#             again after dropping the page cache
#   write     the guest writes 1 MiB from /dev/urandom, syncs, reads it back
#             from the disk, unmounts and powers off; the host checks status
#             0, e2fsck -fn clean, and the file's sum (debugfs dump)
#   ro        vdb mounts read-only and its files check; a write to /dev/vdb,
#             a remount rw and creating a file all fail; the host's sha256
#             of the whole image is unchanged
#   qcow2     vdc is the same file system converted to qcow2 (format=qcow2,
#             when qemu-img is there): its files check, a new file is
#             written and synced; the host then runs qemu-img check and
#             reads the file out of `qemu-img convert -O raw`
# Boot 2, INTx (pci=nomsi: legacy interrupts through the IOAPIC):
#   the same identity, irq (IO-APIC, no PCI-MSI), sums (now with boot 1's
#   file) and ro checks, then no lost data: the guest writes 1 MiB, syncs,
#   prints a marker and the host SIGKILLs the VMM at once; the host replays
#   the journal (e2fsck -E journal_only), checks the file system (e2fsck -fn)
#   and the file's sum.
#
# Environment: see tests/linux/virtio-lib.sh (VMM=qemu runs it on QEMU).
set -u
. "$(dirname "$0")/virtio-lib.sh"
rvt_init disk
for t in mkfs.ext4 debugfs e2fsck sha256sum; do
	command -v "$t" >/dev/null || PATH=$PATH:/sbin:/usr/sbin
	command -v "$t" >/dev/null || rvt_skip_or_fail "$t is needed (e2fsprogs, coreutils)"
done

# The files: a few sizes, one over a megabyte, one in a subfolder.
src="$RVT_TMP/files"
mkdir -p "$src/sub"
echo "hello from the host" >"$src/hello.txt"
head -c 4096 /dev/urandom >"$src/page.bin"
head -c 100003 /dev/urandom >"$src/odd.bin"
head -c $((2 * 1024 * 1024 + 12345)) /dev/urandom >"$src/big.bin"
head -c 70000 /dev/urandom >"$src/sub/nested.bin"
(cd "$src" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum >SHA256SUMS)
img="$RVT_TMP/disk.img"
mkfs.ext4 -q -F -d "$src" "$img" 64M >/dev/null || { echo "FAIL: mkfs.ext4 -d"; exit 1; }
# The read-only disk: ext4 too, with its own files.
rosrc="$RVT_TMP/rofiles"
mkdir -p "$rosrc"
head -c 300000 /dev/urandom >"$rosrc/ro.bin"
(cd "$rosrc" && sha256sum ro.bin >SHA256SUMS)
roimg="$RVT_TMP/ro.img"
mkfs.ext4 -q -F -d "$rosrc" "$roimg" 16M >/dev/null || { echo "FAIL: mkfs.ext4 -d (ro)"; exit 1; }
ro_before=$(sha256sum <"$roimg" | cut -d' ' -f1)
# The qcow2 disk (boot 1 only): the read-write image's file system, converted.
qimg=""
if command -v qemu-img >/dev/null; then
	qimg="$RVT_TMP/disk.qcow2"
	qemu-img convert -f raw -O qcow2 "$img" "$qimg" || { echo "FAIL: qemu-img convert"; exit 1; }
else
	echo "note: no qemu-img (qemu-utils): the qcow2 disk is left out"
fi
serial="rvt-disk-0"

guest="$RVT_TMP/guest.sh"
cat >"$guest" <<'GUEST'
# Guest side of virtio-disk.sh; /rvt/env sets MODE (msix|intx), SERIAL,
# SECTORS, PREV_FILE and PREV_SUM (boot 1's file, for boot 2).
load virtio_pci virtio_blk crc32c_generic ext4
wait_path /dev/vda || fail vda "no /dev/vda"
wait_path /dev/vdb || fail vdb "no /dev/vdb"
dmesg -n 4
expect size-vda "$SECTORS" "$(cat /sys/block/vda/size)"
expect serial-vda "$SERIAL" "$(cat /sys/block/vda/serial 2>&1)"
expect ro-flag-vda 0 "$(cat /sys/block/vda/ro)"
expect ro-flag-vdb 1 "$(cat /sys/block/vdb/ro)"
info queue "vda: write_cache '$(cat /sys/block/vda/queue/write_cache)', discard_max_bytes $(cat /sys/block/vda/queue/discard_max_bytes), hw_sectors_kb $(cat /sys/block/vda/queue/max_hw_sectors_kb), nr_requests $(cat /sys/block/vda/queue/nr_requests)"

# The read-write disk.
check mount "mount /dev/vda /mnt" mount -t ext4 /dev/vda /mnt
check sums "sha256sum -c of $(wc -l </mnt/SHA256SUMS) files" sh -c 'cd /mnt && sha256sum -c SHA256SUMS'
if [ -n "${PREV_FILE:-}" ]; then
	expect prev-file "$PREV_SUM" "$(sum "/mnt/$PREV_FILE")"
fi
dd if=/dev/urandom of=/tmp/new.bin bs=65536 count=16 2>/dev/null
new_sum=$(sum /tmp/new.bin)
check write "1 MiB written to /mnt/new-$MODE.bin" cp /tmp/new.bin "/mnt/new-$MODE.bin"
check sync "sync" sync
value "new-$MODE.bin" "$new_sum"
# Read everything back from the disk, not from the page cache.
echo 3 >/proc/sys/vm/drop_caches
check sums-uncached "sha256sum -c after drop_caches" sh -c 'cd /mnt && sha256sum -c SHA256SUMS'
expect readback "$new_sum" "$(sum "/mnt/new-$MODE.bin")"
if [ "$(cat /sys/block/vda/queue/discard_max_bytes)" != 0 ]; then
	check discard "fstrim (discard advertised)" fstrim -v /mnt
else
	info discard "not advertised"
fi

# Interrupts: MSI-X vectors per queue by default, the IOAPIC with pci=nomsi.
msi=$(irq_count 'PCI-MSI.*virtio[0-9]+-(req|virtqueues)')
ioapic=$(irq_count 'IO-APIC.*virtio')
info interrupts "$(grep virtio /proc/interrupts | tr -s ' ' | tr '\n' '|')"
if [ "$MODE" = msix ]; then
	check irq "PCI-MSI queue interrupts: $msi" [ "$msi" -gt 0 ]
else
	check irq "IO-APIC interrupts: $ioapic, PCI-MSI: $msi" [ "$ioapic" -gt 0 -a "$msi" = 0 ]
fi

# The read-only disk.
check ro-mount "mount -o ro /dev/vdb /ro" mount -t ext4 -o ro /dev/vdb /ro
check ro-sums "sha256sum -c on vdb" sh -c 'cd /ro && sha256sum -c SHA256SUMS'
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 seek=100 oflag=direct 2>/tmp/dd.err; then
	fail ro-dd "a direct write to /dev/vdb succeeded"
else
	pass ro-dd "dd of=/dev/vdb failed: $(grep -v records /tmp/dd.err | head -n 1)"
fi
mount -o remount,rw /ro 2>/tmp/mnt.err
if grep -q ' /ro .*[ ,]rw[ ,]' /proc/mounts; then
	fail ro-remount "remount rw succeeded"
else
	pass ro-remount "vdb stays read-only: $(tail -n 1 /tmp/mnt.err)"
fi
if touch /ro/new 2>/dev/null; then fail ro-touch "created /ro/new"; else pass ro-touch "cannot create /ro/new"; fi
umount /ro

# The qcow2 disk, when there is one.
if [ -n "${QCOW2:-}" ]; then
	wait_path /dev/vdc || fail vdc "no /dev/vdc"
	check q-mount "mount /dev/vdc /q" mount -t ext4 /dev/vdc /q
	check q-sums "sha256sum -c on vdc" sh -c 'cd /q && sha256sum -c SHA256SUMS'
	check q-write "1 MiB written to /q/new-qcow2.bin" cp /tmp/new.bin /q/new-qcow2.bin
	check q-sync "sync" sync
	echo 3 >/proc/sys/vm/drop_caches
	expect q-readback "$new_sum" "$(sum /q/new-qcow2.bin)"
	check q-umount "umount /q" umount /q
fi

if [ "$MODE" = msix ]; then
	check umount "umount /mnt" umount /mnt
	dmesg_check
	finish
fi
# Boot 2 ends with the no-lost-data check: write, sync, marker, SIGKILL.
dmesg_check
dd if=/dev/urandom of=/tmp/kill.bin bs=65536 count=16 2>/dev/null
value kill.bin "$(sum /tmp/kill.bin)"
cp /tmp/kill.bin /mnt/kill.bin
sync
echo "RVT-KILL-ME"
sleep 600
GUEST

# host_extract NAME: the file /NAME of the image, via debugfs
host_extract() {
	rm -f "$RVT_TMP/$1"
	debugfs -R "dump /$1 $RVT_TMP/$1" "$img" >/dev/null 2>"$RVT_TMP/debugfs.err"
	if [ -s "$RVT_TMP/$1" ]; then sha256sum <"$RVT_TMP/$1" | cut -d' ' -f1; else echo "(no file: $(tail -n 1 "$RVT_TMP/debugfs.err"))"; fi
}
ro_unchanged() {
	local now
	now=$(sha256sum <"$roimg" | cut -d' ' -f1)
	check ro-image "$([ "$now" = "$ro_before" ] && echo yes || echo no)" "sha256 of the read-only image: $now (before: $ro_before)"
}
sectors=$((64 * 2048))
disks=(--disk "path=$img,serial=$serial" --disk "path=$roimg,readonly=on")
guest_checks="size-vda serial-vda ro-flag-vda ro-flag-vdb mount sums write sync sums-uncached readback irq ro-mount ro-sums ro-dd ro-remount ro-touch dmesg"

# Boot 1: MSI-X, and the qcow2 disk as vdc.
initrd="$RVT_TMP/initrd-msix.cpio.gz"
qdisk=() qchecks=""
if [ -n "$qimg" ]; then
	qdisk=(--disk "path=$qimg,format=qcow2")
	qchecks="q-mount q-sums q-write q-sync q-readback q-umount"
fi
rvt_initrd "$initrd" "$guest" MODE=msix SERIAL="$serial" SECTORS=$sectors QCOW2=${qimg:+1} || exit 1
rvt_start msix "$initrd" "console=ttyS0" "${disks[@]}" "${qdisk[@]}"
rvt_wait 'RVT-DONE' "$RVT_TIMEOUT"
rvt_wait_exit 60
check status "$([ "$RVT_STATUS" = 0 ] && echo yes || echo no)" "exit status $RVT_STATUS after the guest's poweroff"
rvt_guest_results $guest_checks umount $qchecks
new_sum=$(rvt_value new-msix.bin)
fsck_out=$(e2fsck -fn "$img" 2>&1)
fst=$?
check fsck "$([ $fst = 0 ] && echo yes || echo no)" "e2fsck -fn after the clean unmount: status $fst, $(echo "$fsck_out" | tail -n 1)"
got=$(host_extract new-msix.bin)
check host-read "$([ -n "$new_sum" ] && [ "$got" = "$new_sum" ] && echo yes || echo no)" \
	"debugfs: new-msix.bin $got, the guest wrote ${new_sum:-nothing}"
ro_unchanged
if [ -n "$qimg" ]; then
	qout=$(qemu-img check "$qimg" 2>&1)
	qst=$?
	check q-check "$([ $qst = 0 ] && echo yes || echo no)" "qemu-img check: status $qst, $(echo "$qout" | tail -n 1)"
	qemu-img convert -f qcow2 -O raw "$qimg" "$RVT_TMP/q.raw"
	rm -f "$RVT_TMP/new-qcow2.bin"
	debugfs -R "dump /new-qcow2.bin $RVT_TMP/new-qcow2.bin" "$RVT_TMP/q.raw" >/dev/null 2>&1
	got=$( [ -s "$RVT_TMP/new-qcow2.bin" ] && sha256sum <"$RVT_TMP/new-qcow2.bin" | cut -d' ' -f1)
	check q-host-read "$([ -n "$new_sum" ] && [ "$got" = "$new_sum" ] && echo yes || echo no)" \
		"qemu-img convert + debugfs: new-qcow2.bin ${got:-missing}, the guest wrote ${new_sum:-nothing}"
fi
rvt_end_boot

# Boot 2: INTx, then SIGKILL after sync.
initrd="$RVT_TMP/initrd-intx.cpio.gz"
rvt_initrd "$initrd" "$guest" MODE=intx SERIAL="$serial" SECTORS=$sectors \
	PREV_FILE=new-msix.bin PREV_SUM="${new_sum:-none}" || exit 1
rvt_start intx "$initrd" "console=ttyS0 pci=nomsi" "${disks[@]}"
if rvt_wait 'RVT-KILL-ME' "$RVT_TIMEOUT"; then
	rvt_kill9
	killed=yes
else
	rvt_wait_exit 1
	killed=no
fi
rvt_secs=$(rvt_elapsed "$rvt_t0" "$(rvt_now)")
check kill "$killed" "SIGKILL right after the guest's sync (status ${RVT_STATUS})"
rvt_guest_results $guest_checks prev-file
kill_sum=$(rvt_value kill.bin)
jout=$(e2fsck -E journal_only -y "$img" 2>&1)
jst=$?
check journal "$([ $jst -le 1 ] && echo yes || echo no)" "e2fsck -E journal_only: status $jst $(echo "$jout" | tail -n 1)"
fsck_out=$(e2fsck -fn "$img" 2>&1)
fst=$?
check fsck "$([ $fst = 0 ] && echo yes || echo no)" "e2fsck -fn after the journal replay: status $fst, $(echo "$fsck_out" | tail -n 1)"
got=$(host_extract kill.bin)
check no-lost-data "$([ -n "$kill_sum" ] && [ "$got" = "$kill_sum" ] && echo yes || echo no)" \
	"debugfs: kill.bin $got, the guest wrote ${kill_sum:-nothing}"
ro_unchanged
rvt_end_boot

rvt_finish
