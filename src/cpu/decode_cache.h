/* Private to the run loop: the per-vCPU cache of decoded instructions. */
#ifndef RV_CPU_DECODE_CACHE_H
#define RV_CPU_DECODE_CACHE_H

#include <string.h>

#include "cpu/cpu.h"

#define DCACHE_SIZE 8192	/* entries, a power of two */

struct dcache_entry {
	uint64_t key;		/* guest-physical address << 4 | code size; 0: empty */
	uint64_t raw[2];	/* the instruction's bytes, zero-padded to 16 */
	uint64_t mask[2];	/* which bytes of raw[] belong to it */
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
 * Are the bytes at host (of which `room` are readable) still the ones the
 * entry was decoded from? With 16 readable bytes this is two masked 8-byte
 * compares and no branches; near the end of a page, a byte compare.
 */
static inline bool dcache_same(const uint8_t *host, const struct dcache_entry *e, unsigned room)
{
	if (__builtin_expect(room >= 16, 1))
		return (((dc_load64(host) ^ e->raw[0]) & e->mask[0]) |
			((dc_load64(host + 8) ^ e->raw[1]) & e->mask[1])) == 0;
	return e->in.len <= room && memcmp(host, e->in.bytes, e->in.len) == 0;
}

static inline const struct insn *dcache_lookup(struct decode_cache *dc, uint64_t pa, unsigned code_size,
					       const uint8_t *host, unsigned room)
{
	const struct dcache_entry *e = dcache_at(dc, pa);

	if (e->key == dcache_key(pa, code_size) && dcache_same(host, e, room))
		return &e->in;
	return NULL;
}

/* Make a freshly decoded entry valid. */
static inline void dcache_commit(struct dcache_entry *e, uint64_t pa, unsigned code_size)
{
	uint8_t raw[16] = { 0 };
	unsigned len = e->in.len;

	memcpy(raw, e->in.bytes, len);
	memcpy(e->raw, raw, 16);
	e->mask[0] = len >= 8 ? ~0ull : ~0ull >> (64 - 8 * len);
	e->mask[1] = len <= 8 ? 0 : ~0ull >> (64 - 8 * (len - 8));
	e->key = dcache_key(pa, code_size);
}

#endif
