#!/bin/bash
# run-qemu.sh GUEST.bin - run one test guest under QEMU (TCG, -cpu max).
# The guest's serial output goes to stdout; the exit status is QEMU's:
# 33 = PASS and 35 = FAIL (isa-debug-exit), 0 after a triple fault
# (-no-reboot), 124 on the 60 s timeout.
# bios.bin is started as the firmware (-bios) instead of as a multiboot kernel.
#
# Beyond the reference command line we pass etc/sercon-port = 0 to SeaBIOS:
# with -nographic SeaBIOS otherwise mirrors its VGA text ("SeaBIOS
# (version ...)", iPXE banner, "Booting from ROM..") onto COM1 before the
# guest runs, which ringvm (no BIOS) does not print. The value is a 1-byte
# little-endian integer in a fw_cfg file; QEMU warns that the name lacks the
# "opt/" prefix, and that one warning line is filtered from stderr.
if [ $# -ne 1 ]; then echo "usage: $0 GUEST.bin" >&2; exit 2; fi
case $(basename "$1") in
    bios.bin) load=(-bios "$1") ;;
    *)        load=(-kernel "$1") ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\0' > "$tmp/sercon0"
timeout 60 qemu-system-x86_64 -machine pc -cpu max -m 128 -nographic \
    -no-reboot -display none -serial stdio -monitor none \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -fw_cfg name=etc/sercon-port,file="$tmp/sercon0" \
    "${load[@]}" </dev/null 2>"$tmp/err"
rc=$?
grep -v 'fw_cfg item names should be prefixed' "$tmp/err" >&2
exit $rc
