#!/bin/sh
# acpi.sh - ringvm's ACPI tables must disassemble cleanly with ACPICA's iasl
# (Debian package acpica-tools), an oracle that nobody here wrote: build
# them for 1 and 4 vCPUs with tests/cli/acpi_dump.c (linked with
# libringvm), run `iasl -d`, and check the disassembly for errors and for
# what Linux relies on (PM blocks, MADT entries, \_S5, PCI0 and its _PRT).
. "$(dirname "$0")/testlib"

if ! command -v iasl >/dev/null 2>&1; then
	skip "ACPI tables: iasl is not installed (apt-get install acpica-tools)"
	finish
	exit $?
fi
# Built by tests/cli/cli.mk with the build's own flags (sanitizers included).
dump=$BUILD/tests/cli/acpi_dump
if [ ! -x "$dump" ]; then
	bad "acpi_dump is not built ($dump): run through 'make test-cli'"
	finish
	exit $?
fi

# check NAME FILE PATTERN [COUNT]: PATTERN (grep -E) occurs COUNT times (default: at least once).
check() {
	n=$(grep -Ec -- "$3" "$2")
	if [ -n "$4" ] && [ "$n" -ne "$4" ]; then
		bad "$1: '$3' found $n times in $(basename "$2"), want $4"
	elif [ "$n" -eq 0 ]; then
		bad "$1: '$3' not in $(basename "$2")"
	else
		ok "$1: $3"
	fi
}

for cpus in 1 4; do
	d=$TMP/cpus$cpus
	mkdir -p "$d"
	if ! "$dump" $cpus "$d"; then
		bad "acpi_dump $cpus failed"
		continue
	fi
	if ! (cd "$d" && iasl -d FACP.dat APIC.dat DSDT.dat FACS.dat RSDT.dat XSDT.dat) \
		>"$d/iasl.out" 2>&1; then
		bad "$cpus vCPUs: iasl -d failed:"
		sed 's/^/    /' "$d/iasl.out" | head -n 20
		continue
	fi
	if grep -Eiq '(^|[^a-z])(error|warning)' "$d/iasl.out"; then
		bad "$cpus vCPUs: iasl reports problems:"
		grep -Ei 'error|warning' "$d/iasl.out" | head -n 10 | sed 's/^/    /'
		continue
	fi
	ok "$cpus vCPUs: iasl -d disassembles all six tables"
	check "$cpus vCPUs FADT" "$d/FACP.dsl" 'PM1A Control Block Address : 00000604'
	check "$cpus vCPUs FADT" "$d/FACP.dsl" 'PM Timer Block Address : 00000608'
	check "$cpus vCPUs FADT" "$d/FACP.dsl" 'SCI Interrupt : 0009'
	check "$cpus vCPUs FADT" "$d/FACP.dsl" 'Reset Register Supported \(V2\) : 1'
	check "$cpus vCPUs FADT" "$d/FACP.dsl" 'Address : 0000000000000CF9'
	check "$cpus vCPUs MADT" "$d/APIC.dsl" 'Subtable Type : 00 \[Processor Local APIC\]' $cpus
	check "$cpus vCPUs MADT" "$d/APIC.dsl" 'Subtable Type : 01 \[I/O APIC\]' 1
	check "$cpus vCPUs MADT" "$d/APIC.dsl" 'Subtable Type : 02 \[Interrupt Source Override\]' 2
	check "$cpus vCPUs MADT" "$d/APIC.dsl" 'Subtable Type : 04 \[Local APIC NMI\]' 1
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'Name \(\\_S5, Package \(0x04\)'
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'Device \(PCI0\)'
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'EisaId \("PNP0A03"\)'
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'WordBusNumber'
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'Name \(_HID, "ACPI0007"' $cpus
	# PCI INTx routing: 31 slots x 4 pins, each to a GSI (Source 0) in 16-23
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'Name \(_PRT, Package \(0x7C\)' 1
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" 'Package \(0x04\)' 125
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" '^ *0x0001FFFF, *$' 4
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" '^ *0x001FFFFF, *$' 4
	check "$cpus vCPUs DSDT" "$d/DSDT.dsl" '^ *0x1[0-7],? *$' 124
done
finish
