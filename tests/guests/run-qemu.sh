#!/bin/bash
# run-qemu.sh GUEST.bin - run one test guest under QEMU (TCG, -cpu max).
# The guest's serial output goes to stdout; the exit status is QEMU's:
# 33 = PASS and 35 = FAIL (isa-debug-exit), 0 after a triple fault
# (-no-reboot), 124 on the timeout (QEMU_TIMEOUT seconds, default 600: a limit
# against hangs, generous for loaded machines).
# bios.bin is started as the firmware (-bios) instead of as a multiboot kernel.
#
# Beyond the reference command line we pass etc/sercon-port = 0 to SeaBIOS:
# with -nographic SeaBIOS otherwise mirrors its VGA text ("SeaBIOS
# (version ...)", iPXE banner, "Booting from ROM..") onto COM1 before the
# guest runs, which ringvm (no BIOS) does not print. The value is a 1-byte
# little-endian integer in a fw_cfg file; QEMU warns that the name lacks the
# "opt/" prefix, and that one warning line is filtered from stderr.
#
# A guest may need more than the fixed options: tests/guests/NAME.args holds
# ringvm options (one line), of which `--cpus N` becomes QEMU's -smp N and
# `--cpu svm=on|off` the CPU flag +svm / -svm (TCG's -cpu max offers SVM).
if [ $# -ne 1 ]; then echo "usage: $0 GUEST.bin" >&2; exit 2; fi
case $(basename "$1") in
    bios.bin) load=(-bios "$1") ;;
    *)        load=(-kernel "$1") ;;
esac
extra=()
cpu=max
argsfile=$(dirname "$0")/$(basename "$1" .bin).args
if [ -f "$argsfile" ]; then
    set -- "$1" $(head -n 1 "$argsfile")
    guest=$1; shift
    while [ $# -gt 0 ]; do
        case $1 in
            --cpus) extra+=(-smp "$2"); shift 2 ;;
            --cpus=*) extra+=(-smp "${1#--cpus=}"); shift ;;
            --cpu) case $2 in
                       svm=on) cpu=$cpu,+svm ;;
                       svm=off) cpu=$cpu,-svm ;;
                       *) echo "run-qemu.sh: no QEMU equivalent for '--cpu $2' in $argsfile" >&2; exit 2 ;;
                   esac
                   shift 2 ;;
            *) echo "run-qemu.sh: no QEMU equivalent for '$1' in $argsfile" >&2; exit 2 ;;
        esac
    done
    set -- "$guest"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\0' > "$tmp/sercon0"
timeout "${QEMU_TIMEOUT:-600}" qemu-system-x86_64 -machine pc -cpu "$cpu" -m 128 -nographic \
    -no-reboot -display none -serial stdio -monitor none \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -fw_cfg name=etc/sercon-port,file="$tmp/sercon0" \
    "${extra[@]}" "${load[@]}" </dev/null 2>"$tmp/err"
rc=$?
grep -v 'fw_cfg item names should be prefixed' "$tmp/err" >&2
exit $rc
