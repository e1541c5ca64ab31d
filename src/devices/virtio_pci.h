/* The virtio PCI transport, modern interface only (virtio 1.2, 4.1): capabilities, common configuration, notify, ISR, device configuration, MSI-X and INTx. */
#ifndef RV_DEVICES_VIRTIO_PCI_H
#define RV_DEVICES_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "devices/virtio.h"

#define VIRTIO_PCI_VENDOR       0x1af4
#define VIRTIO_PCI_DEVICE_BASE  0x1040	/* modern device ID = 0x1040 + virtio device ID (4.1.2.1) */
#define VIRTIO_PCI_MSIX_VECTORS (VIRTIO_MAX_QUEUES + 1)

/*
 * What the machine gives the transport. The platform lock guards PCI
 * config space (config cycles run under it), the MSI-X table and pending
 * bits, and interrupt delivery. Lock order: a device's vd->lock may be held
 * when the transport takes the platform lock, never the other way round,
 * so code running under the platform lock (config_written, MSI-X table
 * accesses) never takes vd->lock. The one exception is the PCI reset hook
 * at a machine reset, when no vCPU and no backend thread runs.
 */
struct virtio_pci_host {
	void (*lock)(void *opaque);
	void (*unlock)(void *opaque);
	/* An MSI write (address 0xFEExxxxx, data) to the local APICs; platform lock held. */
	void (*msi)(void *opaque, uint64_t addr, uint32_t data);
	/* The device's INTx pin level (the machine applies COMMAND.INTX_DISABLE and routing); platform lock held. */
	void (*intx)(void *opaque, struct pci_device *d, bool level);
	void *opaque;
};

/*
 * BAR layout (like QEMU's, which the Linux driver has long met):
 *   BAR1: 4 KiB, MSI-X table at 0, pending bits at 0x800.
 *   BAR4: 16 KiB, 64-bit memory: common configuration at 0x0000, ISR at
 *         0x1000, device configuration at 0x2000, notifications at 0x3000
 *         (notify_off_multiplier 4: queue q at 0x3000 + 4q).
 */
struct virtio_pci {
	struct pci_device pci;
	struct virtio_dev *vd;
	const struct virtio_pci_host *host;
	/* common configuration registers (vd->lock) */
	uint32_t device_feature_select, driver_feature_select;
	uint16_t queue_select;
	/* interrupts (platform lock) */
	unsigned msix_cap;		/* config offset of the MSI-X capability */
	uint32_t msix_table[VIRTIO_PCI_MSIX_VECTORS][4];	/* address lo/hi, data, vector control */
	uint64_t msix_pending;
	bool intx_level;
};

/*
 * Build the PCI function for vd: IDs (subsystem = device type), class by
 * type, the five virtio capabilities and MSI-X, INTA#, the BARs; and set
 * vd->transport. Register vp->pci on the bus afterwards (pci_register).
 */
int virtio_pci_init(struct virtio_pci *vp, struct virtio_dev *vd,
		    const struct virtio_pci_host *host);

#endif
