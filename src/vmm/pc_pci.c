/* PCI on the PC: the host bridge's configuration ports and its reset; devices join bus 0 through pc.pci. */
#include <stdio.h>
#include <string.h>

#include "vmm/machine_priv.h"

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
	ret = bus_register(&m->io, PCI_CONFIG_ADDR_PORT, 1, pci_host_addr_access, h, "pci-addr");
	if (!ret)
		ret = bus_register(&m->io, PCI_CONFIG_DATA_PORT, PCI_CONFIG_DATA_NR_PORTS,
				   pci_host_data_access, h, "pci-data");
	if (ret) {
		snprintf(err, errlen, "cannot attach the PCI host bridge at port 0x%x: %s",
			 PCI_CONFIG_ADDR_PORT, strerror(-ret));
		return ret;
	}
	ret = machine_add_reset_hook(m, pci_host_reset, h);
	if (ret)
		snprintf(err, errlen, "cannot register the PCI reset: %s", strerror(-ret));
	return ret;
}
