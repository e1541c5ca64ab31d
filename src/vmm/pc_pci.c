/* PCI on the PC: the host bridge's configuration ports, the MMIO window's dispatch to BARs, INTx routing, firmware-style BAR assignment, reset. */
#include <stdio.h>
#include <string.h>

#include "common/le.h"
#include "vmm/machine_priv.h"

#define PCI_STATUS_INTERRUPT 0x0008	/* INTx asserted by the function, whatever INTX_DISABLE says (PCI 3.0, 6.2.3) */
#define PCI_SLOT_OF(devfn)   ((devfn) >> 3)

/*
 * Whether d pulls its GSI now, and the wired-OR of the GSI follows:
 * asserted while any function pulls it. Level-triggered and active-low
 * to the OS (the _PRT says so); the IOAPIC's input is "asserted", so
 * polarity needs no inversion here. Platform lock held.
 */
static void pc_pci_intx_update(struct machine *m, struct pci_device *d)
{
	struct pc_pci_intx *x = &m->pc.intx;
	unsigned devfn = d->devfn, pin = d->config[PCI_INTERRUPT_PIN];
	bool want = x->level[devfn] && pin >= 1 && pin <= 4 &&
		    !(get16(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	unsigned gsi, i;

	if (want == x->driving[devfn])
		return;
	x->driving[devfn] = want;
	gsi = acpi_pci_intx_gsi(PCI_SLOT_OF(devfn), pin - 1);
	i = gsi - ACPI_PCI_GSI_BASE;
	if (want) {
		if (x->users[i]++ == 0)
			ioapic_set_irq(&m->pc.ioapic, (int)gsi, true);
	} else if (x->users[i] && --x->users[i] == 0) {
		ioapic_set_irq(&m->pc.ioapic, (int)gsi, false);
	}
}

void pc_pci_intx_set(struct machine *m, struct pci_device *d, bool level)
{
	struct pc_pci_intx *x = &m->pc.intx;

	if (m->pc.pci.dev[d->devfn] != d)
		return;		/* not on the bus (yet) */
	x->level[d->devfn] = level;
	if (level)
		d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	pc_pci_intx_update(m, d);
}

/*
 * 0xCFC-0xCFF. The bus calls this with the platform lock held (vcpu.c).
 * After a write that reaches COMMAND, INTX_DISABLE may have changed: the
 * function's INTx is re-evaluated here, so devices need not watch for it
 * (config_written stays the device's own hook).
 */
static void pc_pci_data_access(void *opaque, uint64_t offset, unsigned size, bool is_write,
			       uint64_t *data)
{
	struct machine *m = opaque;
	struct pci_host *h = &m->pc.pci;
	uint32_t a = h->config_addr;
	unsigned reg = (a & 0xfc) + (unsigned)offset, devfn = (a >> 8) & 0xff;
	struct pci_device *d;

	pci_host_data_access(h, offset, size, is_write, data);
	if (!is_write || !(a & 0x80000000u) || ((a >> 16) & 0xff) || !(d = h->dev[devfn]))
		return;
	if (reg < PCI_COMMAND + 2 && reg + size > PCI_COMMAND)
		pc_pci_intx_update(m, d);
}

/*
 * The 32-bit window: whichever memory BAR decodes the address gets the
 * access. The lookup reads config space (platform lock); the access runs
 * without it, as a device may do long work (disk I/O) under its own lock
 * and takes the platform lock itself to interrupt. A BAR moved in
 * between is harmless: devices live as long as the machine.
 */
static void pc_pci_mmio(void *opaque, uint64_t offset, unsigned size, bool is_write,
			uint64_t *data)
{
	struct machine *m = opaque;
	uint64_t gpa = PC_PCI_MMIO_START + offset, off = 0;
	struct pci_device *d = NULL;
	unsigned bar = 0;
	bool found;

	pthread_mutex_lock(&m->pc.lock);
	found = pci_find_mem_bar(&m->pc.pci, gpa, &d, &bar, &off);
	pthread_mutex_unlock(&m->pc.lock);
	/* An access that runs past the BAR's end is not the device's. */
	if (found && d->bar_access && size <= d->bar_size[bar] - off) {
		if (!is_write)
			*data = 0;
		d->bar_access(d, bar, off, size, is_write, data);
		return;
	}
	if (!is_write)
		*data = size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;	/* master abort */
	machine_log(m, "unclaimed PCI memory %s 0x%llx (size %u)", is_write ? "write" : "read",
		    (unsigned long long)gpa, size);
}

int pc_pci_assign(struct machine *m, char *err, size_t errlen)
{
	struct pci_host *h = &m->pc.pci;
	int ret = pci_assign_bars(h, PC_PCI_MMIO_START, PC_PCI_MMIO_END);

	if (ret) {
		snprintf(err, errlen, "the PCI devices' memory BARs do not fit in 0x%llx-0x%llx",
			 PC_PCI_MMIO_START, PC_PCI_MMIO_END - 1);
		return ret;
	}
	/* INTERRUPT_LINE as a BIOS leaves it: only a hint; Linux takes the GSI from the _PRT. */
	for (unsigned i = 0; i < PCI_NR_DEVFN; i++) {
		struct pci_device *d = h->dev[i];
		unsigned pin;

		if (!d || (pin = d->config[PCI_INTERRUPT_PIN]) < 1 || pin > 4)
			continue;
		pci_config_write(h, 0, d->devfn, PCI_INTERRUPT_LINE, 1,
				 acpi_pci_intx_gsi(PCI_SLOT_OF(d->devfn), pin - 1));
	}
	return 0;
}

/*
 * A machine reset (platform lock held, no vCPU or backend thread
 * running): config space to power-on (devices reset through their hook,
 * which may lower their INTx), every INTx line low, then the firmware's
 * BAR assignment again, since the power-on contents have no BARs.
 */
static void pc_pci_reset(void *opaque)
{
	struct machine *m = opaque;
	char err[160];

	pci_host_reset(&m->pc.pci);
	for (unsigned i = 0; i < ACPI_PCI_NR_GSIS; i++)
		if (m->pc.intx.users[i])
			ioapic_set_irq(&m->pc.ioapic, ACPI_PCI_GSI_BASE + (int)i, false);
	memset(&m->pc.intx, 0, sizeof(m->pc.intx));
	if (pc_pci_assign(m, err, sizeof(err)))
		machine_log(m, "reset: %s", err);	/* cannot happen: it fitted at create */
}

/*
 * 0xCF8 is registered as one port (dword accesses land there, by their
 * first port), so that 0xCF9 stays free for the reset control register
 * (pc_acpi.c); 0xCFA-0xCFB are unclaimed, as on a PIIX.
 */
int pc_pci_attach(struct machine *m, char *err, size_t errlen)
{
	struct pci_host *h = &m->pc.pci;
	int ret;

	pci_host_init(h);
	memset(&m->pc.intx, 0, sizeof(m->pc.intx));
	ret = bus_register(&m->io, PCI_CONFIG_ADDR_PORT, 1, pci_host_addr_access, h, "pci-addr");
	if (!ret)
		ret = bus_register(&m->io, PCI_CONFIG_DATA_PORT, PCI_CONFIG_DATA_NR_PORTS,
				   pc_pci_data_access, m, "pci-data");
	if (ret) {
		snprintf(err, errlen, "cannot attach the PCI host bridge at port 0x%x: %s",
			 PCI_CONFIG_ADDR_PORT, strerror(-ret));
		return ret;
	}
	ret = bus_register(&m->mmio, PC_PCI_MMIO_START, PC_PCI_MMIO_END - PC_PCI_MMIO_START,
			   pc_pci_mmio, m, "pci-mmio");
	if (ret) {
		snprintf(err, errlen, "cannot attach the PCI MMIO window at 0x%llx: %s",
			 PC_PCI_MMIO_START, strerror(-ret));
		return ret;
	}
	ret = machine_add_reset_hook(m, pc_pci_reset, m);
	if (ret)
		snprintf(err, errlen, "cannot register the PCI reset: %s", strerror(-ret));
	return ret;
}
