/* PCI bus 0 behind an i440FX-like host bridge: configuration mechanism #1 (0xCF8/0xCFC) and a registry of devices with config space and BARs. */
#ifndef RV_DEVICES_PCI_H
#define RV_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CONFIG_ADDR_PORT 0xcf8	/* dword only; 0xCF9 is the reset control register (acpi_pm) */
#define PCI_CONFIG_DATA_PORT 0xcfc
#define PCI_CONFIG_DATA_NR_PORTS 4

#define PCI_CONFIG_SIZE 256		/* conventional config space */
#define PCI_NR_DEVFN    256		/* 32 slots x 8 functions */
#define PCI_NR_BARS     6
#define PCI_DEVFN(slot, fn) (((slot) << 3) | (fn))

/* Type 0 header offsets (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CLASS_DEVICE   0x0a		/* sub-class, then base class at 0x0b */
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID   0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d

#define PCI_COMMAND_IO     0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_CAP_LIST 0x0010

/* BAR kinds for pci_bar_init(). */
#define PCI_BAR_IO         0x1		/* I/O space (else memory) */
#define PCI_BAR_MEM64      0x4		/* 64-bit memory BAR: uses this BAR and the next */
#define PCI_BAR_PREFETCH   0x8
#define PCI_BAR_UNMAPPED   UINT64_MAX

/* The host bridge: Intel 82441FX (i440FX PMC), as QEMU's pc machine, which Linux knows without quirks that matter. */
#define PCI_HOST_VENDOR    0x8086
#define PCI_HOST_DEVICE    0x1237

struct pci_device {
	uint8_t config[PCI_CONFIG_SIZE];
	uint8_t wmask[PCI_CONFIG_SIZE];		/* bits the guest may write */
	uint8_t w1cmask[PCI_CONFIG_SIZE];	/* bits a written 1 clears (status) */
	uint8_t reset_config[PCI_CONFIG_SIZE];	/* power-on contents, kept by pci_register() */
	uint64_t bar_size[PCI_NR_BARS];		/* 0: BAR not implemented (or the upper half of a 64-bit one) */
	uint8_t bar_flags[PCI_NR_BARS];
	uint16_t next_cap;			/* where the next capability goes */
	uint8_t devfn;
	const char *name;
	/* After a guest write (BAR moved, command changed, capability written); optional. */
	void (*config_written)(struct pci_device *d, unsigned offset, unsigned size);
	/* At a machine reset, after config space is back at its power-on contents; optional. */
	void (*reset)(struct pci_device *d);
	/*
	 * An access inside memory BAR `bar` (offset from where it decodes now),
	 * dispatched by pci_mmio_access(); called WITHOUT the platform lock,
	 * so a device may do long work (disk I/O) under its own lock. Optional.
	 */
	void (*bar_access)(struct pci_device *d, unsigned bar, uint64_t offset, unsigned size,
			   bool is_write, uint64_t *data);
	void *opaque;
};

struct pci_host {
	uint32_t config_addr;			/* 0xCF8 */
	struct pci_device *dev[PCI_NR_DEVFN];	/* bus 0, by devfn */
	struct pci_device bridge;		/* 00:00.0 */
};

/* A device's config space with IDs and class; every other register zero and read-only. */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision);
/*
 * Implement BAR n: size is a power of two (at least 4 for I/O, 16 for
 * memory); flags PCI_BAR_IO, or memory with PCI_BAR_MEM64 and/or
 * PCI_BAR_PREFETCH. Writing all ones then reads back the size mask
 * (PCI 3.0, 6.2.5.1). Returns 0 or -EINVAL.
 */
int pci_bar_init(struct pci_device *d, unsigned n, uint64_t size, unsigned flags);
/* Where BAR n decodes now: PCI_BAR_UNMAPPED if its space is off in COMMAND or it is unset. */
uint64_t pci_bar_address(const struct pci_device *d, unsigned n);
/* INTx pin 1-4 (INTA#-INTD#), 0 for none; the line register (0x3C) stays guest-writable. */
void pci_set_interrupt_pin(struct pci_device *d, uint8_t pin);
/* Add a capability of len bytes (header included) to the list: its offset, or -ENOSPC. */
int pci_add_capability(struct pci_device *d, uint8_t id, unsigned len);

/* The host bridge at 00:00.0 and an empty bus. */
void pci_host_init(struct pci_host *h);
/* Put d on bus 0 at slot (0-31; -1: the first free slot), function 0. Returns the slot or -EBUSY/-EINVAL. */
int pci_register(struct pci_host *h, struct pci_device *d, int slot);

/* Config cycles (bus, devfn, offset, size 1/2/4 within one dword); empty functions read all ones. */
uint32_t pci_config_read(struct pci_host *h, unsigned bus, unsigned devfn, unsigned offset, unsigned size);
void pci_config_write(struct pci_host *h, unsigned bus, unsigned devfn, unsigned offset, unsigned size,
		      uint32_t value);

/* Bus callbacks: opaque = the pci_host; 0xCF8 (1 port: dword accesses only) and 0xCFC-0xCFF. */
void pci_host_addr_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);
void pci_host_data_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data);

/*
 * The memory BAR of a device on bus 0 that decodes guest-physical `addr`
 * (memory space enabled in COMMAND): the device, BAR number and offset.
 * False if none does. Caller holds the platform lock (config space).
 */
bool pci_find_mem_bar(struct pci_host *h, uint64_t addr, struct pci_device **d, unsigned *bar,
		      uint64_t *offset);

/*
 * Firmware's part: give every unassigned memory BAR an address inside
 * [start, end) (each aligned to its size, largest first) and enable memory
 * space and bus mastering, as a BIOS does before an OS that keeps
 * firmware assignments. Returns 0 or -ENOSPC.
 */
int pci_assign_bars(struct pci_host *h, uint64_t start, uint64_t end);

/* Machine reset (a machine_add_reset_hook callback): every device back to its power-on config. */
void pci_host_reset(void *opaque);

#endif
