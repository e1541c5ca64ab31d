/*
 * The decode cache: each vCPU keeps decoded instructions in a direct-mapped
 * table keyed by guest-physical address and code size (the only mode bits
 * decoding depends on: 16/32/64-bit; 64 implies long mode).
 *
 * Self-modifying code: every entry keeps the instruction's raw bytes, and
 * every hit compares them with the bytes now in guest memory (two 8-byte
 * compares). So a write by anyone - this vCPU, another vCPU, a device's
 * DMA, the VMM - is seen at the next fetch with no write tracking at all.
 * Instructions that cross a page are decoded each time and never cached.
 */
#include <stdlib.h>

#include "cpu/decode_cache.h"

struct decode_cache *dcache_new(void)
{
	return calloc(1, sizeof(struct decode_cache));
}

void dcache_free(struct decode_cache *dc)
{
	free(dc);
}

void dcache_flush(struct decode_cache *dc)
{
	for (unsigned i = 0; i < DCACHE_SIZE; i++)
		dc->e[i].key = 0;
}
