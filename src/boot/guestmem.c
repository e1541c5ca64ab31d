/* The guest-physical layout table: insertion and bounds-checked RAM lookup. */
#include <errno.h>
#include <string.h>

#include "boot/guestmem.h"

int guestmem_add(struct guestmem *mem, uint64_t gpa, uint64_t size,
		 enum guestmem_type type, uint8_t *host)
{
	unsigned i;

	if (size == 0 || gpa + size < gpa)
		return -EINVAL;
	if (mem->count == GUESTMEM_MAX_REGIONS)
		return -ENOSPC;
	for (i = 0; i < mem->count; i++) {
		const struct guestmem_region *r = &mem->region[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	for (i = mem->count; i > 0 && mem->region[i - 1].gpa > gpa; i--)
		mem->region[i] = mem->region[i - 1];
	mem->region[i] = (struct guestmem_region){
		.gpa = gpa, .size = size, .type = type, .host = host,
	};
	mem->count++;
	return 0;
}

uint8_t *guestmem_ptr(const struct guestmem *mem, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < mem->count; i++) {
		const struct guestmem_region *r = &mem->region[i];

		if (r->type != GUESTMEM_RAM || !r->host)
			continue;
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

bool guestmem_gpa(const struct guestmem *mem, const void *host, uint64_t *gpa)
{
	uintptr_t h = (uintptr_t)host;

	for (unsigned i = 0; i < mem->count; i++) {
		const struct guestmem_region *r = &mem->region[i];

		if (r->type == GUESTMEM_RAM && r->host && h >= (uintptr_t)r->host && h - (uintptr_t)r->host < r->size) {
			*gpa = r->gpa + (h - (uintptr_t)r->host);
			return true;
		}
	}
	return false;
}
