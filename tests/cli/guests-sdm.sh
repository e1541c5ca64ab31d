#!/bin/sh
# guests-sdm.sh - the test guests built with the checks where QEMU 7.2 TCG
# departs from the Intel SDM (tests/guests/README.md: #XM for unmasked SSE
# exceptions, vector*8+2 error codes of bad 64-bit IDT gates, #SS for a
# non-canonical rBP-based access; RF in fault frames, DR7.GD, INT1 as a trap,
# data breakpoints on MOV SS deferred past the next instruction). QEMU fails these, so there is no QEMU
# comparison: the guests assert each result themselves and must PASS.
. "$(dirname "$0")/testlib"

src=$(cd "$(dirname "$0")/../guests" && pwd)
out=$BUILD/guests-sdm
TIMEOUT=${GUEST_TIMEOUT:-300}
SDM_FLAGS="-DWITH_XM -DWITH_IDT64_EC -DWITH_SS_NONCANON -DWITH_FAULT_RF -DWITH_GD -DWITH_ICEBP -DWITH_MOVSS_DB"

if ! command -v nasm >/dev/null 2>&1; then
	skip "SDM guests: nasm is not installed"
	finish
	exit $?
fi
mkdir -p "$out"
for name in exceptions debug; do
	# shellcheck disable=SC2086
	if ! nasm -f bin $SDM_FLAGS -I "$src/" -o "$out/$name.bin" "$src/$name.asm" 2>"$TMP/nasm-$name"; then
		bad "$name (SDM build): does not assemble: $(head -n 1 "$TMP/nasm-$name")"
		continue
	fi
	# both engines: the translator (the default) and the interpreter
	for engine in translator interpreter; do
		eflag=
		[ $engine = interpreter ] && eflag=--interpreter
		# shellcheck disable=SC2086
		timeout "$TIMEOUT" "$RINGVM" run --kernel "$out/$name.bin" --debug-exit $eflag \
			>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
		rc=$?
		if [ "$rc" != 33 ] || [ "$(tail -n 1 "$TMP/$name.out")" != PASS ]; then
			bad "$name (SDM build, $engine): status $rc, last line '$(tail -n 1 "$TMP/$name.out")'"
			sed 's/^/    stderr: /' "$TMP/$name.err" | head -n 30
			continue 2
		fi
		for line in "#XM SSE zero-divide vec=13" "#SS(0) non-canonical via rbp vec=0c" \
			    "#NP not-present IDT gate vec=0b ec=0000020a"; do
			[ "$name" = exceptions ] || break
			if ! grep -q "^$line" "$TMP/$name.out"; then
				bad "$name (SDM build, $engine): no line '$line'"
				continue 3
			fi
		done
	done
	ok "$name (SDM build): PASS on both engines with the checks QEMU 7.2 fails"
done

# svm.asm, svm_npt.asm and svm_asid.asm with -DWITH_APM: what QEMU 7.2's
# TCG SVM departs from in AMD's manual (next_RIP, the IOIO address-size
# bits, INT3 as #BP, the 64-bit VMEXIT_INVALID; virtual interrupts:
# V_INTR_PRIO equal to V_TPR, V_TPR lowered by CR8, V_IRQ and the
# EXITINTINFO type of an exit during delivery, GUEST_INTERRUPT_MASK; the
# G_PAT and nCR3 checks of VMRUN; FlushByAsid); run with --cpu svm=on as
# NAME.args says.
for name in svm svm_npt svm_asid; do
	if ! nasm -f bin -DWITH_APM -I "$src/" -o "$out/$name.bin" "$src/$name.asm" 2>"$TMP/nasm-$name"; then
		bad "$name (APM build): does not assemble: $(head -n 1 "$TMP/nasm-$name")"
		continue
	fi
	args=$(head -n 1 "$src/$name.args")
	good=true
	for eflag in "" --interpreter; do
		# shellcheck disable=SC2086
		timeout "$TIMEOUT" "$RINGVM" run --kernel "$out/$name.bin" --debug-exit $args $eflag \
			>"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
		rc=$?
		if [ "$rc" != 33 ] || [ "$(tail -n 1 "$TMP/$name.out")" != PASS ]; then
			bad "$name (APM build${eflag:+, $eflag}): status $rc, last line '$(tail -n 1 "$TMP/$name.out")'"
			sed 's/^/    stderr: /' "$TMP/$name.err" | head -n 30
			good=false
			break
		fi
	done
	$good && ok "$name (APM build): PASS on both engines with the checks QEMU 7.2 fails"
done
finish
