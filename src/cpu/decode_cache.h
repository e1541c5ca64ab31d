/* Private to the run loop: the per-vCPU cache of decoded instructions. */
#ifndef RV_CPU_DECODE_CACHE_H
#define RV_CPU_DECODE_CACHE_H

#include <string.h>

#include "cpu/cpu.h"

#define DCACHE_SIZE 8192	/* entries, a power of two */

struct dcache_entry {
	uint64_t key;		/* guest-physical address << 4 | code size; 0: empty */
	struct insn in;
};

struct decode_cache {
	struct dcache_entry e[DCACHE_SIZE];
};

struct decode_cache *dcache_new(void);
void dcache_free(struct decode_cache *dc);
void dcache_flush(struct decode_cache *dc);

static inline uint64_t dcache_key(uint64_t pa, unsigned code_size)
{
	return pa << 4 | code_size;
}

static inline struct dcache_entry *dcache_at(struct decode_cache *dc, uint64_t pa)
{
	return &dc->e[(pa ^ (pa >> 13) ^ (pa >> 26)) & (DCACHE_SIZE - 1)];
}

static inline uint64_t dc_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/*
 * Are the `in->len` bytes at host (of which `room` are readable) still the
 * bytes we decoded? Two 8-byte compares at most: for len > 8 the first and
 * the last 8 bytes (overlapping), else one masked compare.
 */
static inline bool dcache_same(const uint8_t *host, const struct insn *in, unsigned room)
{
	unsigned len = in->len;

	if (len > room)
		return false;
	if (len > 8)
		return dc_load64(host) == dc_load64(in->bytes) &&
		       dc_load64(host + len - 8) == dc_load64(in->bytes + len - 8);
	if (room >= 8)
		return ((dc_load64(host) ^ dc_load64(in->bytes)) & (~0ull >> (64 - 8 * len))) == 0;
	return memcmp(host, in->bytes, len) == 0;
}

static inline const struct insn *dcache_lookup(struct decode_cache *dc, uint64_t pa, unsigned code_size,
					       const uint8_t *host, unsigned room)
{
	const struct dcache_entry *e = dcache_at(dc, pa);

	if (e->key == dcache_key(pa, code_size) && dcache_same(host, &e->in, room))
		return &e->in;
	return NULL;
}

#endif
