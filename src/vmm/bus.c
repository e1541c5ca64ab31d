/* Port-I/O and MMIO buses: registration that refuses overlaps, binary-search dispatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

void bus_free(struct bus *bus)
{
	free(bus->range);
	memset(bus, 0, sizeof(*bus));
}

static int bus_insert(struct bus *bus, uint64_t base, uint64_t len, bus_access_fn *fn,
		      bus_access_cpu_fn *fn_cpu, void *opaque, const char *name)
{
	unsigned i;

	if (len == 0 || base + len - 1 < base || (!fn && !fn_cpu))
		return -EINVAL;
	/* Index of the first range that starts above `base`. */
	for (i = 0; i < bus->count && bus->range[i].base <= base; i++)
		;
	if (i > 0) {
		const struct bus_range *prev = &bus->range[i - 1];

		if (base - prev->base < prev->len)
			return -EBUSY;
	}
	if (i < bus->count && bus->range[i].base - base < len)
		return -EBUSY;
	if (bus->count == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = realloc(bus->range, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->range = r;
		bus->cap = cap;
	}
	memmove(&bus->range[i + 1], &bus->range[i],
		(bus->count - i) * sizeof(bus->range[0]));
	bus->range[i] = (struct bus_range){
		.base = base, .len = len, .fn = fn, .fn_cpu = fn_cpu, .opaque = opaque, .name = name,
	};
	bus->count++;
	return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_access_fn *fn, void *opaque, const char *name)
{
	return fn ? bus_insert(bus, base, len, fn, NULL, opaque, name) : -EINVAL;
}

int bus_register_cpu(struct bus *bus, uint64_t base, uint64_t len,
		     bus_access_cpu_fn *fn, void *opaque, const char *name)
{
	return fn ? bus_insert(bus, base, len, NULL, fn, opaque, name) : -EINVAL;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->range[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

int bus_access(const struct bus *bus, uint64_t addr, unsigned size,
	       bool is_write, uint64_t *data)
{
	return bus_access_cpu(bus, 0, addr, size, is_write, data);
}

int bus_access_cpu(const struct bus *bus, unsigned cpu, uint64_t addr, unsigned size,
		   bool is_write, uint64_t *data)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (!r) {
		if (!is_write)
			*data = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
		return -ENOENT;
	}
	if (!is_write)
		*data = 0;
	if (r->fn_cpu)
		r->fn_cpu(r->opaque, cpu, addr - r->base, size, is_write, data);
	else
		r->fn(r->opaque, addr - r->base, size, is_write, data);
	return 0;
}
