/* ACPI tables for the guest (ACPI 6.4, ch. 5): RSDP, RSDT, XSDT, FADT, FACS, MADT and an AML DSDT. */
#ifndef RV_BOOT_ACPI_H
#define RV_BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

/*
 * Where the tables go: the BIOS read-only area, where an OS that is given
 * no RSDP address looks for one (5.2.5.1: 16-byte boundaries in
 * 0xE0000-0xFFFFF). ringvm maps it as ROM when no firmware is loaded.
 */
#define ACPI_AREA_GPA  0xe0000ull
#define ACPI_AREA_SIZE 0x20000ull

#define ACPI_LAPIC_ADDR  0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_IOAPIC_PINS 24
#define ACPI_MAX_CPUS    255		/* xAPIC IDs, 0xff is broadcast */

/*
 * PCI INTx routing on bus 0: IOAPIC inputs 16-23, which no ISA IRQ uses
 * and the MADT does not override, so an OS takes them as level-triggered,
 * active-low (ACPI 6.4, 6.2.13: a _PRT entry with Source 0 names a GSI).
 */
#define ACPI_PCI_GSI_BASE 16
#define ACPI_PCI_NR_GSIS  8
#define ACPI_PCI_FIRST_SLOT 1		/* slot 0 is the host bridge: no interrupt */
#define ACPI_PCI_NR_SLOTS 32

/* The machine ringvm describes; the VMM fills it from its own constants. */
struct acpi_config {
	unsigned cpus;			/* Local APIC IDs and processor UIDs 0..cpus-1 */
	uint8_t ioapic_id;
	uint16_t pm_base;		/* PM1a_EVT at +0 (4 bytes), PM1a_CNT at +4 (2), PM_TMR at +8 (4) */
	uint8_t sci_irq;		/* ISA IRQ (and GSI) of the SCI */
	uint8_t s5_slp_typ;		/* SLP_TYP that PM1a_CNT takes for S5 */
	uint16_t reset_port;		/* FADT RESET_REG (I/O, 8 bits) */
	uint8_t reset_value;
	uint32_t pci_mmio_start;	/* the 32-bit PCI MMIO window for _CRS */
	uint32_t pci_mmio_end;		/* inclusive */
};

/* Offsets of the tables in the area, for tests and for the guest's RSDP pointer. */
struct acpi_layout {
	uint64_t rsdp, rsdt, xsdt, fadt, facs, dsdt, madt;	/* guest-physical */
	uint32_t dsdt_len, madt_len;
	size_t used;			/* bytes of the area in use */
};

/*
 * Build every table into buf (`size` bytes that the guest sees at
 * guest-physical `gpa`), the RSDP first, at buf[0]. Returns 0, -EINVAL
 * for a bad config (0 or too many vCPUs), -ENOSPC if size is too small.
 * Fills *layout when it is not NULL.
 */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, uint64_t gpa, size_t size,
	       struct acpi_layout *layout);

/*
 * The GSI that INTx pin `pin` (0 = INTA#, 3 = INTD#) of the device in
 * `slot` drives: the swizzle the DSDT's _PRT describes, and the one the
 * VMM wires (vmm/pc_pci.c), so the two cannot disagree.
 */
unsigned acpi_pci_intx_gsi(unsigned slot, unsigned pin);

/* Sum of bytes mod 256: 0 for a table whose checksum is right. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
