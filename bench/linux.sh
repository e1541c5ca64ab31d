#!/bin/bash
# The Linux table of `make bench`: Debian's stock kernel (scripts/fetch-kernel)
# with the benchmark initramfs (scripts/make-initramfs, INITRAMFS_BENCH=1) on
# ringvm and on QEMU (TCG, -cpu max), 1 vCPU and 256 MiB each, the monitors
# taking turns run after run; the CPU jobs also run natively with the same
# busybox and data. Figures, how they are taken and the JSON format:
# docs/bench.md.
#
# Columns (BENCH_CONFIGS, space-separated, chooses some of them; default all
# that apply):
#   ringvm           build/ringvm on the bzImage (with --decompress host
#                    once ringvm has the option)
#   ringvm-guestdec  --decompress guest, the kernel's own decompressor: boot
#                    only (rvbench.jobs=none), when ringvm has the option
#   ringvm-translator  --native-user=off: the translator runs all guest
#                    code (by default, processes that compute for long in
#                    user mode run on the host CPU), when ringvm has the
#                    option
#   ringvm-interp    --interpreter, with BENCH_INTERPRETER=1, when ringvm has
#                    the option
#   ringvm-vmlinux   the uncompressed vmlinux qemu-pvh boots (nothing to
#                    decompress): boot only, ringvm's fastest path against
#                    QEMU's
#   qemu-pc          -M pc on the bzImage (SeaBIOS, the kernel decompresses
#                    itself: the path ringvm's guest decompression takes)
#   qemu-pvh         -M pc on the uncompressed vmlinux through its PVH ELF
#                    note (scripts/extract-vmlinux): QEMU's fastest boot here
#   native           md5sum and gzip -9 on the host
#
# Usage: bench/linux.sh [BUILD_DIR]   (ringvm is BUILD_DIR/ringvm; results in
# BUILD_DIR/bench)
# Environment: BENCH_RUNS (runs of each column, default 3), BENCH_QUICK=1
# (tiny jobs, one run by default: a check of the mechanics, results in
# linux-quick.jsonl, runs and logs in quick/), BENCH_RINGVM_FLAGS (more ringvm options, every ringvm
# column), BENCH_INTERPRETER=1, BENCH_CONFIGS, BENCH_TIMEOUT (seconds per
# run, a guard against hangs only), QEMU, PYTHON.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${1:-build}
RINGVM=${RINGVM:-$build/ringvm}
QEMU=${QEMU:-qemu-system-x86_64}
# Debian's python3 (scripts/deps) when it is there, not one earlier on PATH.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
out=$build/bench
cache="${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}"
# What the initramfs's /init prints once it runs (scripts/make-initramfs).
MARKER="ringvm-initramfs: init running"

die() { echo "bench/linux.sh: $*" >&2; exit 1; }

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	runs=${BENCH_RUNS:-1} mib=2 forks=20 bytes=2000 timeout=${BENCH_TIMEOUT:-900}
	result=$out/linux-quick.jsonl work=$out/quick
else
	runs=${BENCH_RUNS:-3} mib=64 forks=1000 bytes=200000 timeout=${BENCH_TIMEOUT:-3600}
	result=$out/linux.jsonl work=$out
fi
case "$runs" in '' | *[!0-9]* | 0) die "BENCH_RUNS is '$runs', not a positive number" ;; esac
[ -x "$RINGVM" ] || die "no $RINGVM (build it first)"
[ -n "$PYTHON" ] || die "python3 is needed (scripts/deps)"
mkdir -p "$out" || exit 1

kernel=$("$top/scripts/fetch-kernel" --kernel) || die "scripts/fetch-kernel failed"
kver=$(basename "$kernel" | sed 's/^vmlinuz-//')
initrd=$(INITRAMFS_BENCH=1 "$top/scripts/make-initramfs" "$out/initramfs-bench.cpio.gz") ||
	die "scripts/make-initramfs failed"
busybox=$cache/busybox-static/bin/busybox
[ -x "$busybox" ] || die "no $busybox (scripts/make-initramfs puts it there)"
append="console=ttyS0 rvbench.mib=$mib rvbench.forks=$forks rvbench.bytes=$bytes"

help=$("$RINGVM" --help 2>&1)
notes=()
configs="ringvm"
if grep -q -- --decompress <<<"$help"; then
	configs="$configs ringvm-guestdec"
	decompress=1
else
	decompress=0
	notes+=("ringvm has no --decompress yet: its column is its one boot path, the kernel's own decompressor (no host-decompression column)")
fi
# the translator alone: no user code on the host CPU (which ringvm does by default)
if grep -q -- --native-user <<<"$help"; then
	configs="$configs ringvm-translator"
fi
if [ "${BENCH_INTERPRETER:-0}" = 1 ]; then
	if grep -q -- --interpreter <<<"$help"; then
		configs="$configs ringvm-interp"
	else
		notes+=("BENCH_INTERPRETER=1, but ringvm has no --interpreter: no interpreter column")
	fi
fi
# the uncompressed kernel of the fastest boot paths (ringvm-vmlinux, qemu-pvh)
vmlinux=$out/vmlinux-$kver
if ! [ "$vmlinux" -nt "$kernel" ]; then
	"$top/scripts/extract-vmlinux" "$kernel" "$vmlinux.tmp" && mv "$vmlinux.tmp" "$vmlinux" ||
		die "scripts/extract-vmlinux failed"
fi
configs="$configs ringvm-vmlinux"
if command -v "$QEMU" >/dev/null; then
	configs="$configs qemu-pc qemu-pvh"
else
	notes+=("no $QEMU: no QEMU columns (scripts/deps installs qemu-system-x86)")
fi
configs="${BENCH_CONFIGS:-$configs native}"

# The host's copy of the data lives on tmpfs, as the guest's does.
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
native_dir=$(mktemp -d "$shm/ringvm-bench.XXXXXX") || exit 1
trap 'rm -rf "$native_dir"' EXIT
trap 'exit 1' INT TERM HUP

qemu_common=("$QEMU" -accel tcg -cpu max -m 256M -smp 1 -nodefaults -no-user-config
	-display none -serial stdio -no-reboot -initrd "$initrd")
ringvm_extra=(${BENCH_RINGVM_FLAGS:-})

# config NAME: sets cmd (the command), vmm, vpath (boot path) and flags (the
# options that make this column differ) for one column
config() {
	local dec=() jobs=""
	case "$1" in
	ringvm-vmlinux)
		vmm=ringvm vpath=vmlinux flags="--kernel vmlinux ${ringvm_extra[*]}"
		cmd=("$RINGVM" run --kernel "$vmlinux" --initrd "$initrd" --append "$append rvbench.jobs=none"
			--mem 256M --cpus 1 --stats "${ringvm_extra[@]}")
		;;
	ringvm | ringvm-interp | ringvm-guestdec | ringvm-translator)
		vmm=ringvm vpath=bzimage
		if [ $decompress = 1 ] && [ "$1" = ringvm-guestdec ]; then
			dec=(--decompress guest)
			jobs=" rvbench.jobs=none"
		elif [ $decompress = 1 ]; then
			dec=(--decompress host) vpath=bzimage-host-decompress
		fi
		[ "$1" = ringvm-interp ] && dec+=(--interpreter)
		[ "$1" = ringvm-translator ] && dec+=(--native-user=off)
		flags="${dec[*]} ${ringvm_extra[*]}"
		cmd=("$RINGVM" run --kernel "$kernel" --initrd "$initrd" --append "$append$jobs"
			--mem 256M --cpus 1 --stats "${dec[@]}" "${ringvm_extra[@]}")
		;;
	qemu-pc)
		vmm=qemu vpath=pc-bzimage flags="-M pc -kernel bzImage"
		cmd=("${qemu_common[@]}" -M pc -kernel "$kernel" -append "$append")
		;;
	qemu-pvh)
		vmm=qemu vpath=pc-vmlinux-pvh flags="-M pc -kernel vmlinux"
		cmd=("${qemu_common[@]}" -M pc -kernel "$vmlinux" -append "$append")
		;;
	native)
		vmm=native vpath=host flags=""
		cmd=(env RVBENCH_NATIVE=1 RVBENCH_BUSYBOX="$busybox" RVBENCH_DIR="$native_dir"
			RVBENCH_MIB=$mib RVBENCH_FORKS=$forks RVBENCH_BYTES=$bytes RVBENCH_JOBS=md5sum,gzip
			"$busybox" sh "$here/guest-jobs.sh")
		;;
	*) die "unknown column '$1' in BENCH_CONFIGS" ;;
	esac
	flags=$(echo $flags)
}

for c in $configs; do config "$c"; done
rm -rf "$work/runs" "$work/logs"
mkdir -p "$work/runs" "$work/logs"

echo "== Linux benchmark: kernel $kver, $runs run(s) of: $configs"
echo "   (logs and ringvm's --stats in $work/logs)"
for n in "${notes[@]}"; do echo "   note: $n"; done
for r in $(seq 1 "$runs"); do
	echo "-- run $r of $runs"
	for c in $configs; do
		config "$c"
		tag=$(printf 'r%03d-%s' "$r" "$c")
		marker=$MARKER
		[ "$c" = native ] && marker=""
		"$PYTHON" "$here/vmrun.py" --log "$work/logs/$tag.out" --json "$work/runs/$tag.json" \
			--marker "$marker" --timeout "$timeout" \
			--set config="$c" --set vmm="$vmm" --set path="$vpath" --set flags="$flags" \
			-- "${cmd[@]}"
	done
done

qemu_version=$("$QEMU" --version 2>/dev/null | head -n 1)
"$PYTHON" "$here/linux-report.py" --runs "$work/runs" --out "$result" --configs "$configs" \
	--title "kernel $kver, busybox initramfs, 1 vCPU, 256 MiB; $mib MiB of data, $forks fork+exec, dd of $bytes bytes" \
	--meta kernel="$kver" --meta qemu="$qemu_version" --meta ringvm="$RINGVM" \
	--meta append="$append" --meta runs="$runs" --meta quick="${BENCH_QUICK:-0}" \
	--meta host="$(uname -srm), $(nproc) CPU(s)" --meta date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	"${notes[@]/#/--note=}"
