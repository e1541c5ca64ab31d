/* ACPI on the PC: the tables in a ROM at 0xE0000 (when no firmware is loaded) and the PM device's ports and wiring. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "boot/acpi.h"
#include "vmm/machine_priv.h"


static void pc_acpi_poweroff(void *opaque)
{
	struct machine *m = opaque;

	machine_finish(m, MACHINE_END_POWEROFF, NULL, 0,
		       "the guest switched the machine off (ACPI S5)");
}

static void pc_acpi_reset(void *opaque)
{
	machine_request_reset(opaque);
}

int pc_acpi_attach(struct machine *m, char *err, size_t errlen)
{
	struct pc_platform *pc = &m->pc;
	int ret;

	acpi_pm_init(&pc->acpi_pm, &pc->clock, &pc->isa_irq[ACPI_PM_SCI_IRQ],
		     pc_acpi_poweroff, pc_acpi_reset, m);
	ret = bus_register(&m->io, ACPI_PM_BASE, ACPI_PM_NR_PORTS, acpi_pm_access,
			   &pc->acpi_pm, "acpi-pm");
	if (!ret)
		ret = bus_register(&m->io, ACPI_RESET_PORT, 1, acpi_reset_access,
				   &pc->acpi_pm, "acpi-reset");
	if (ret) {
		snprintf(err, errlen, "cannot attach the ACPI PM device at port 0x%x: %s",
			 ACPI_PM_BASE, strerror(-ret));
		return ret;
	}
	ret = machine_add_reset_hook(m, acpi_pm_reset, &pc->acpi_pm);
	if (ret)
		snprintf(err, errlen, "cannot register the ACPI PM reset: %s", strerror(-ret));
	return ret;
}

/*
 * The tables live in their own ROM, not in guest RAM: a reset clears RAM,
 * and the guest cannot change a ROM. With --bios the firmware owns
 * 0xE0000-0xFFFFF and its own tables.
 */
int machine_acpi_create(struct machine *m, char *err, size_t errlen)
{
	struct acpi_config cfg = {
		.cpus = m->cfg.cpus,
		.ioapic_id = (uint8_t)m->cfg.cpus,	/* after the LAPIC IDs 0..cpus-1 */
		.pm_base = ACPI_PM_BASE,
		.sci_irq = ACPI_PM_SCI_IRQ,
		.s5_slp_typ = ACPI_PM_S5_TYP,
		.reset_port = ACPI_RESET_PORT,
		.reset_value = ACPI_RESET_VALUE,
		.pci_mmio_start = PC_PCI_MMIO_START,
		.pci_mmio_end = PC_PCI_MMIO_END - 1,
	};
	void *p;
	int ret;

	if (m->cfg.bios)
		return 0;
	p = mmap(NULL, ACPI_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot allocate memory for the ACPI tables: %s", strerror(errno));
		return ret;
	}
	m->acpi_rom = p;
	ret = acpi_build(&cfg, p, ACPI_AREA_GPA, ACPI_AREA_SIZE, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot build the ACPI tables for %u vCPUs: %s",
			 m->cfg.cpus, strerror(-ret));
		return ret;
	}
	ret = rv_vm_map(m->vm, ACPI_AREA_GPA, ACPI_AREA_SIZE, RV_MEM_ROM, p);
	if (ret) {
		snprintf(err, errlen, "cannot map the ACPI tables: %s", strerror(-ret));
		return ret;
	}
	m->acpi_rsdp = ACPI_AREA_GPA;		/* acpi_build puts the RSDP first */
	return 0;
}

void machine_acpi_destroy(struct machine *m)
{
	if (m->acpi_rom)
		munmap(m->acpi_rom, ACPI_AREA_SIZE);
	m->acpi_rom = NULL;
}
