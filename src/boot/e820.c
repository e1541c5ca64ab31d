/* The e820 map of a VM: the guestmem regions, with the EBDA below 640 KiB reserved. */
#include <errno.h>

#include "boot/e820.h"

static int e820_push(struct e820_entry *out, unsigned max, unsigned *n,
		     uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n == max)
		return -ENOSPC;
	out[(*n)++] = (struct e820_entry){ .addr = addr, .size = size, .type = type };
	return 0;
}

int e820_from_guestmem(const struct guestmem *mem, struct e820_entry *out, unsigned max)
{
	unsigned i, n = 0;
	int ret = 0;

	for (i = 0; i < mem->count && !ret; i++) {
		const struct guestmem_region *r = &mem->region[i];
		uint32_t type = r->type == GUESTMEM_RAM ? E820_RAM : E820_RESERVED;
		uint64_t end = r->gpa + r->size;

		/* RAM that covers the EBDA: RAM below it, the EBDA up to 640 KiB reserved. */
		if (type == E820_RAM && r->gpa < E820_EBDA_START && end > E820_EBDA_START &&
		    end <= 0xa0000) {
			ret = e820_push(out, max, &n, r->gpa, E820_EBDA_START - r->gpa, E820_RAM);
			if (!ret)
				ret = e820_push(out, max, &n, E820_EBDA_START,
						end - E820_EBDA_START, E820_RESERVED);
			continue;
		}
		ret = e820_push(out, max, &n, r->gpa, r->size, type);
	}
	return ret ? ret : (int)n;
}

void e820_pack(uint8_t *p, const struct e820_entry *e)
{
	for (int i = 0; i < 8; i++) {
		p[i] = (uint8_t)(e->addr >> (8 * i));
		p[8 + i] = (uint8_t)(e->size >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		p[16 + i] = (uint8_t)(e->type >> (8 * i));
}
