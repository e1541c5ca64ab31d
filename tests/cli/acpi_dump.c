/* acpi_dump CPUS OUTDIR: build ringvm's ACPI tables as machine_create does and write each one to OUTDIR/SIG.dat (for iasl -d). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "devices/acpi_pm.h"

static unsigned char area[ACPI_AREA_SIZE];

static int write_table(const char *dir, uint64_t gpa)
{
	const unsigned char *t = area + (gpa - ACPI_AREA_GPA);
	unsigned len = t[4] | t[5] << 8 | t[6] << 16 | (unsigned)t[7] << 24;
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%.4s.dat", dir, (const char *)t);
	f = fopen(path, "wb");
	if (!f || fwrite(t, 1, len, f) != len || fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct acpi_layout l;
	struct acpi_config c = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_PM_SCI_IRQ, .s5_slp_typ = ACPI_PM_S5_TYP,
		.reset_port = ACPI_RESET_PORT, .reset_value = ACPI_RESET_VALUE,
		.pci_mmio_start = 0xc0000000u, .pci_mmio_end = ACPI_IOAPIC_ADDR - 1,
	};
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: acpi_dump CPUS OUTDIR\n");
		return 2;
	}
	c.cpus = (unsigned)atoi(argv[1]);
	c.ioapic_id = (uint8_t)c.cpus;
	ret = acpi_build(&c, area, ACPI_AREA_GPA, sizeof(area), &l);
	if (ret) {
		fprintf(stderr, "acpi_build: %s\n", strerror(-ret));
		return 1;
	}
	return write_table(argv[2], l.fadt) | write_table(argv[2], l.madt) |
	       write_table(argv[2], l.dsdt) | write_table(argv[2], l.facs) |
	       write_table(argv[2], l.rsdt) | write_table(argv[2], l.xsdt);
}
