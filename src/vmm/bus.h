/* Port-I/O and MMIO buses: sorted range maps from an address to a device callback. */
#ifndef RV_VMM_BUS_H
#define RV_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One callback type serves port I/O and MMIO. `offset` is relative to the
 * start of the device's range; for a read the device stores the value
 * (zero-extended, `size` bytes) in *data, for a write *data holds it.
 */
typedef void bus_access_fn(void *opaque, uint64_t offset, unsigned size,
			   bool is_write, uint64_t *data);

/* The same for devices with one instance per vCPU (the local APIC): `cpu` is the accessing vCPU. */
typedef void bus_access_cpu_fn(void *opaque, unsigned cpu, uint64_t offset, unsigned size,
			       bool is_write, uint64_t *data);

struct bus_range {
	uint64_t base, len;
	bus_access_fn *fn;
	bus_access_cpu_fn *fn_cpu;	/* instead of fn, for per-vCPU devices */
	void *opaque;
	const char *name;
};

/* Registration happens before vCPUs run; afterwards the map is read-only. */
struct bus {
	struct bus_range *range;	/* sorted by base, disjoint */
	unsigned count, cap;
};

void bus_init(struct bus *bus);
void bus_free(struct bus *bus);

/* -EINVAL for an empty or wrapping range, -EBUSY if it overlaps a registered one, -ENOMEM. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_access_fn *fn, void *opaque, const char *name);

/* A range whose callback learns which vCPU made the access (see bus_access_cpu). */
int bus_register_cpu(struct bus *bus, uint64_t base, uint64_t len,
		     bus_access_cpu_fn *fn, void *opaque, const char *name);

/* The range holding `addr`, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);

/*
 * Dispatch one access. Returns 0, or -ENOENT when no device claims `addr`:
 * then a read sees all ones (as an undriven ISA/PCI bus does) and a write
 * is dropped.
 */
int bus_access(const struct bus *bus, uint64_t addr, unsigned size,
	       bool is_write, uint64_t *data);
/* bus_access on behalf of vCPU `cpu` (bus_access itself is vCPU 0's). */
int bus_access_cpu(const struct bus *bus, unsigned cpu, uint64_t addr, unsigned size,
		   bool is_write, uint64_t *data);

#endif
