#!/bin/sh
# Side-by-side speed of ringvm and QEMU (TCG) on the same guests, one run each,
# alternating: wall time, guest instructions per second, ratio.
# Usage: bench/run.sh BUILD_DIR
set -u
build=${1:-build}
ringvm=$build/ringvm
out=$build/bench
mkdir -p "$out"
NASMFLAGS="-DLONG_LOOP" tests/guests/build.sh "$out" >/dev/null || exit 1

now() { date +%s.%N; }

printf '%-12s %12s %12s %10s %10s\n' guest "ringvm s" "qemu s" "ratio" "ringvm MIPS"
for guest in loop exceptions paging privilege; do
	bin=$out/$guest.bin
	t0=$(now)
	"$ringvm" run --kernel "$bin" --debug-exit --stats >/dev/null 2>"$out/$guest.stats"
	t1=$(now)
	mips=$(sed -n 's/.*= \([0-9.]*\) MIPS.*/\1/p' "$out/$guest.stats")
	if command -v qemu-system-x86_64 >/dev/null; then
		t2=$(now)
		tests/guests/run-qemu.sh "$bin" >/dev/null 2>&1
		t3=$(now)
		q=$(echo "$t3 - $t2" | bc -l)
	else
		q=0
	fi
	r=$(echo "$t1 - $t0" | bc -l)
	ratio=$(echo "if ($q > 0) $r / $q else 0" | bc -l)
	printf '%-12s %12.3f %12.3f %10.2f %10s\n' "$guest" "$r" "$q" "$ratio" "${mips:-?}"
done
echo "(ratio = ringvm time / QEMU time; QEMU's time includes its SeaBIOS start-up)"
