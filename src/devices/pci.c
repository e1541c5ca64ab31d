/* PCI bus 0: configuration mechanism #1, config space with write masks, BAR sizing, capabilities, the i440FX-like host bridge. */
#include <errno.h>
#include <string.h>

#include "devices/pci.h"
#include "common/le.h"

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t revision)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	put16(d->config + PCI_VENDOR_ID, vendor);
	put16(d->config + PCI_DEVICE_ID, device);
	d->config[PCI_REVISION_ID] = revision;
	d->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	d->config[PCI_CLASS_DEVICE] = (uint8_t)(class_code >> 8);
	d->config[PCI_CLASS_DEVICE + 1] = (uint8_t)(class_code >> 16);
	/* COMMAND: I/O, memory, bus master, INTx disable are the guest's; the rest reads 0. */
	put16(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	      PCI_COMMAND_INTX_DISABLE);
	/* STATUS: the error bits are write-1-to-clear (PCI 3.0, 6.2.3). */
	put16(d->w1cmask + PCI_STATUS, 0xf900);
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
	d->next_cap = 0x40;
}

int pci_bar_init(struct pci_device *d, unsigned n, uint64_t size, unsigned flags)
{
	bool io = flags & PCI_BAR_IO, is64 = flags & PCI_BAR_MEM64;
	uint64_t mask;
	uint8_t low;

	if (n >= PCI_NR_BARS || !size || (size & (size - 1)) || (is64 && (io || n + 1 >= PCI_NR_BARS)))
		return -EINVAL;
	if (io ? (size < 4 || size > 256) : (size < 16 || (!is64 && size > (1ull << 31))))
		return -EINVAL;
	d->bar_size[n] = size;
	d->bar_flags[n] = (uint8_t)flags;
	/* The low bits say what the BAR is and are read-only (PCI 3.0, 6.2.5.1). */
	low = io ? 0x1 : (uint8_t)((is64 ? 0x4 : 0) | (flags & PCI_BAR_PREFETCH ? 0x8 : 0));
	put32(d->config + PCI_BAR0 + 4 * n, low);
	mask = ~(size - 1);
	put32(d->wmask + PCI_BAR0 + 4 * n, (uint32_t)mask & (io ? ~3u : ~15u));
	if (is64) {
		d->bar_size[n + 1] = 0;
		put32(d->config + PCI_BAR0 + 4 * (n + 1), 0);
		put32(d->wmask + PCI_BAR0 + 4 * (n + 1), (uint32_t)(mask >> 32));
	}
	return 0;
}

uint64_t pci_bar_address(const struct pci_device *d, unsigned n)
{
	uint16_t cmd = d->config[PCI_COMMAND] | d->config[PCI_COMMAND + 1] << 8;
	unsigned flags;
	uint64_t addr;

	if (n >= PCI_NR_BARS || !d->bar_size[n])
		return PCI_BAR_UNMAPPED;
	flags = d->bar_flags[n];
	if (flags & PCI_BAR_IO) {
		if (!(cmd & PCI_COMMAND_IO))
			return PCI_BAR_UNMAPPED;
		addr = get32(d->config + PCI_BAR0 + 4 * n) & ~3u;
	} else {
		if (!(cmd & PCI_COMMAND_MEMORY))
			return PCI_BAR_UNMAPPED;
		addr = get32(d->config + PCI_BAR0 + 4 * n) & ~15u;
		if (flags & PCI_BAR_MEM64)
			addr |= (uint64_t)get32(d->config + PCI_BAR0 + 4 * (n + 1)) << 32;
	}
	/* Zero is "not assigned" in practice (firmware and Linux never place a BAR there). */
	return addr ? addr : PCI_BAR_UNMAPPED;
}

void pci_set_interrupt_pin(struct pci_device *d, uint8_t pin)
{
	d->config[PCI_INTERRUPT_PIN] = pin <= 4 ? pin : 0;
}

int pci_add_capability(struct pci_device *d, uint8_t id, unsigned len)
{
	unsigned off = (d->next_cap + 3) & ~3u;

	if (len < 2 || off < 0x40 || off + len > PCI_CONFIG_SIZE)
		return -ENOSPC;
	/* New capabilities go at the head of the list. */
	d->config[off] = id;
	d->config[off + 1] = d->config[PCI_CAPABILITY_LIST];
	d->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->next_cap = (uint16_t)(off + len);
	return (int)off;
}

void pci_host_init(struct pci_host *h)
{
	memset(h, 0, sizeof(*h));
	pci_device_init(&h->bridge, "host-bridge", PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0x060000, 0x02);
	/* Subsystem IDs as QEMU's i440FX shows them (Red Hat, QEMU). */
	put16(h->bridge.config + PCI_SUBSYSTEM_VENDOR_ID, 0x1af4);
	put16(h->bridge.config + PCI_SUBSYSTEM_ID, 0x1100);
	/* A host bridge decodes memory and I/O and masters the bus from power-on. */
	put16(h->bridge.config + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_register(h, &h->bridge, 0);
}

int pci_register(struct pci_host *h, struct pci_device *d, int slot)
{
	unsigned devfn;

	if (slot < 0) {
		for (slot = 0; slot < 32 && h->dev[PCI_DEVFN(slot, 0)]; slot++)
			;
		if (slot == 32)
			return -EBUSY;
	}
	if (slot >= 32)
		return -EINVAL;
	devfn = PCI_DEVFN((unsigned)slot, 0);
	if (h->dev[devfn])
		return -EBUSY;
	d->devfn = (uint8_t)devfn;
	memcpy(d->reset_config, d->config, sizeof(d->config));
	h->dev[devfn] = d;
	return slot;
}

uint32_t pci_config_read(struct pci_host *h, unsigned bus, unsigned devfn, unsigned offset, unsigned size)
{
	const struct pci_device *d;
	uint32_t v = 0;
	unsigned i;

	if (size != 1 && size != 2 && size != 4)
		return UINT32_MAX;
	if (bus != 0 || devfn >= PCI_NR_DEVFN || !(d = h->dev[devfn]) ||
	    offset + size > PCI_CONFIG_SIZE)
		return size == 4 ? UINT32_MAX : (1u << (size * 8)) - 1;	/* master abort */
	for (i = 0; i < size; i++)
		v |= (uint32_t)d->config[offset + i] << (8 * i);
	return v;
}

void pci_config_write(struct pci_host *h, unsigned bus, unsigned devfn, unsigned offset, unsigned size,
		      uint32_t value)
{
	struct pci_device *d;
	unsigned i;

	if (size != 1 && size != 2 && size != 4)
		return;
	if (bus != 0 || devfn >= PCI_NR_DEVFN || !(d = h->dev[devfn]) ||
	    offset + size > PCI_CONFIG_SIZE)
		return;		/* nobody claims the cycle: dropped */
	for (i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(value >> (8 * i)), *c = &d->config[offset + i];

		*c = (uint8_t)((*c & ~d->wmask[offset + i]) | (b & d->wmask[offset + i]));
		*c &= (uint8_t)~(b & d->w1cmask[offset + i]);
	}
	if (d->config_written)
		d->config_written(d, offset, size);
}

/*
 * 0xCF8, CONFIG_ADDRESS (PCI 3.0, 3.2.2.3.2): bit 31 enable, 23:16 bus,
 * 15:11 device, 10:8 function, 7:2 register. Only dword accesses reach
 * it; byte and word accesses go to the ISA bus (0xCF9 is the reset
 * control register), as on the PIIX.
 */
void pci_host_addr_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct pci_host *h = opaque;

	if (size != 4 || offset) {
		if (!is_write)
			*data = size >= 4 ? UINT32_MAX : (1u << (size * 8)) - 1;
		return;
	}
	if (is_write)
		h->config_addr = (uint32_t)*data & 0x80fffffcu;
	else
		*data = h->config_addr;
}

/* 0xCFC-0xCFF, CONFIG_DATA: the byte lanes of the dword CONFIG_ADDRESS selects. */
void pci_host_data_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *data)
{
	struct pci_host *h = opaque;
	uint32_t a = h->config_addr;
	unsigned bus = (a >> 16) & 0xff, devfn = (a >> 8) & 0xff;
	unsigned reg = (a & 0xfc) + (unsigned)offset;

	if (!(a & 0x80000000u) || offset + size > 4) {
		if (!is_write)
			*data = size >= 4 ? UINT32_MAX : (1u << (size * 8)) - 1;
		return;
	}
	if (is_write)
		pci_config_write(h, bus, devfn, reg, size, (uint32_t)*data);
	else
		*data = pci_config_read(h, bus, devfn, reg, size);
}

void pci_host_reset(void *opaque)
{
	struct pci_host *h = opaque;
	unsigned i;

	h->config_addr = 0;
	for (i = 0; i < PCI_NR_DEVFN; i++) {
		struct pci_device *d = h->dev[i];

		if (!d)
			continue;
		memcpy(d->config, d->reset_config, sizeof(d->config));
		if (d->reset)
			d->reset(d);
	}
}

/* A memory BAR's address as programmed, whatever COMMAND says; 0 when unassigned. */
static uint64_t pci_mem_bar_raw(const struct pci_device *d, unsigned n)
{
	uint64_t addr = get32(d->config + PCI_BAR0 + 4 * n) & ~15u;

	if (d->bar_flags[n] & PCI_BAR_MEM64)
		addr |= (uint64_t)get32(d->config + PCI_BAR0 + 4 * (n + 1)) << 32;
	return addr;
}

static bool pci_is_mem_bar(const struct pci_device *d, unsigned n)
{
	return d->bar_size[n] && !(d->bar_flags[n] & PCI_BAR_IO);
}

bool pci_find_mem_bar(struct pci_host *h, uint64_t addr, struct pci_device **dp, unsigned *bar,
		      uint64_t *offset)
{
	for (unsigned i = 0; i < PCI_NR_DEVFN; i++) {
		struct pci_device *d = h->dev[i];

		if (!d)
			continue;
		for (unsigned n = 0; n < PCI_NR_BARS; n++) {
			uint64_t base;

			if (!pci_is_mem_bar(d, n))
				continue;
			base = pci_bar_address(d, n);	/* UNMAPPED unless memory space is on */
			/* addr - base, not base + size: a 64-bit BAR near the top must not wrap. */
			if (base == PCI_BAR_UNMAPPED || addr < base || addr - base >= d->bar_size[n])
				continue;
			*dp = d;
			*bar = n;
			*offset = addr - base;
			return true;
		}
	}
	return false;
}

/* Whether [addr, addr + size) overlaps an assigned memory BAR of any device. */
static bool pci_mem_range_busy(const struct pci_host *h, uint64_t addr, uint64_t size,
			       uint64_t *busy_end)
{
	for (unsigned i = 0; i < PCI_NR_DEVFN; i++) {
		const struct pci_device *d = h->dev[i];

		if (!d)
			continue;
		for (unsigned n = 0; n < PCI_NR_BARS; n++) {
			uint64_t base;

			if (!pci_is_mem_bar(d, n) || !(base = pci_mem_bar_raw(d, n)))
				continue;
			if (base < addr + size && addr < base + d->bar_size[n]) {
				*busy_end = base + d->bar_size[n];
				return true;
			}
		}
	}
	return false;
}

/*
 * As firmware (SeaBIOS's pci_bios_map_devices) does: the largest BARs
 * first, each naturally aligned, so power-of-two sizes pack with no gaps.
 * The writes go through pci_config_write() like the firmware's config
 * cycles would, so devices see them in config_written.
 */
int pci_assign_bars(struct pci_host *h, uint64_t start, uint64_t end)
{
	struct {
		struct pci_device *d;
		unsigned n;
	} todo[PCI_NR_DEVFN * PCI_NR_BARS], t;
	unsigned count = 0, i, j;
	uint64_t cursor = start;

	for (i = 0; i < PCI_NR_DEVFN; i++) {
		struct pci_device *d = h->dev[i];

		if (!d)
			continue;
		for (unsigned n = 0; n < PCI_NR_BARS; n++)
			if (pci_is_mem_bar(d, n) && !pci_mem_bar_raw(d, n)) {
				todo[count].d = d;
				todo[count++].n = n;
			}
	}
	/* Insertion sort by size, largest first; stable, so equal sizes keep bus order. */
	for (i = 1; i < count; i++) {
		t = todo[i];
		for (j = i; j > 0 && todo[j - 1].d->bar_size[todo[j - 1].n] < t.d->bar_size[t.n]; j--)
			todo[j] = todo[j - 1];
		todo[j] = t;
	}
	for (i = 0; i < count; i++) {
		struct pci_device *d = todo[i].d;
		unsigned n = todo[i].n, off = PCI_BAR0 + 4 * n;
		uint64_t size = d->bar_size[n], addr, busy_end;

		for (;;) {
			addr = (cursor + size - 1) & ~(size - 1);
			if (addr < cursor || addr > end || end - addr < size)
				return -ENOSPC;
			if (!pci_mem_range_busy(h, addr, size, &busy_end))
				break;
			cursor = busy_end;
		}
		cursor = addr + size;
		pci_config_write(h, 0, d->devfn, off, 4, (uint32_t)addr);
		if (d->bar_flags[n] & PCI_BAR_MEM64)
			pci_config_write(h, 0, d->devfn, off + 4, 4, (uint32_t)(addr >> 32));
	}
	for (i = 0; i < PCI_NR_DEVFN; i++) {
		struct pci_device *d = h->dev[i];
		bool has_mem = false;

		if (!d || d == &h->bridge)
			continue;
		for (unsigned n = 0; n < PCI_NR_BARS; n++)
			has_mem |= pci_is_mem_bar(d, n) && pci_mem_bar_raw(d, n);
		if (has_mem)
			pci_config_write(h, 0, d->devfn, PCI_COMMAND, 2,
					 get16(d->config + PCI_COMMAND) | PCI_COMMAND_MEMORY |
					 PCI_COMMAND_MASTER);
	}
	return 0;
}
