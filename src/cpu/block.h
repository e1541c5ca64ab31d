/* Private to the run loop and the MMU: the per-vCPU cache of decoded basic blocks. */
#ifndef RV_CPU_BLOCK_H
#define RV_CPU_BLOCK_H

#include <string.h>

#include "cpu/mmu.h"

#define BLOCK_MAX_INSNS 32
#define BLOCK_MAX_BYTES (BLOCK_MAX_INSNS * 15)
#define BCACHE_SIZE     4096		/* block headers, direct-mapped, a power of two */
#define BCACHE_INSNS    (BCACHE_SIZE * 8)	/* decoded-instruction arena */
#define BCACHE_BYTES    (BCACHE_INSNS * 6)	/* raw-byte arena (copies for validation) */
#define CODEMAP_BITS    (1u << 16)	/* hashed set of guest-physical pages holding blocks */

/* A run of decoded instructions within one guest-physical page. */
struct block {
	uint64_t key;		/* page-offset address << 4 | code size (as dcache_key); 0: empty */
	struct insn *in;	/* ninsn instructions in the arena */
	const uint8_t *raw;	/* the nbytes guest bytes they were decoded from */
	uint16_t nbytes;
	uint16_t ninsn;
	uint8_t ends_sys;	/* its last instruction may change mode, CPL, flags, debug or interrupt state */
	uint32_t epoch;		/* the block_cache epoch in which its bytes were last compared */
};

struct block_cache {
	struct block hdr[BCACHE_SIZE];
	uint64_t codemap[CODEMAP_BITS / 64];
	unsigned insn_used, byte_used;
	/*
	 * Bumped whenever code bytes may have changed behind the blocks' back:
	 * by the run loop between block chains (cpu_run entry, events, system
	 * opcodes: every serializing point, SDM vol. 3, 8.1.3) and by this
	 * vCPU's stores into pages holding blocks (block_note_write). Within a
	 * chain, a block already compared in the current epoch is not compared
	 * again.
	 */
	uint32_t epoch;
	struct insn insn[BCACHE_INSNS];
	uint8_t bytes[BCACHE_BYTES];
};

struct block_cache *bcache_new(void);
void bcache_free(struct block_cache *bc);

const struct block *block_get_slow(struct cpu *cpu);

static inline uint64_t block_key(uint64_t pa, unsigned code_size)
{
	return pa << 4 | code_size;
}

static inline struct block *block_slot(struct block_cache *bc, uint64_t pa)
{
	return &bc->hdr[(pa ^ (pa >> 12) ^ (pa >> 24)) & (BCACHE_SIZE - 1)];
}

/*
 * Are the n guest bytes at host still those of raw (zero-padded to 8)?
 * Whole 8-byte words, the last one masked; it may read past n but never
 * past the page (`page_rest` readable bytes), else byte by byte.
 */
static inline bool block_same(const uint8_t *host, const uint8_t *raw, unsigned n, unsigned page_rest)
{
	uint64_t x, y, diff = 0;
	unsigned i = 0;

	if (__builtin_expect(((n + 7) & ~7u) > page_rest, 0))
		return memcmp(host, raw, n) == 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, host + i, 8);
		memcpy(&y, raw + i, 8);
		diff |= x ^ y;
	}
	if (i < n) {
		memcpy(&x, host + i, 8);
		memcpy(&y, raw + i, 8);
		diff |= (x ^ y) & (~0ull >> (64 - 8 * (n - i)));
	}
	return diff == 0;
}

/*
 * The block starting at the current RIP, valid for the bytes now in guest
 * memory, built if need be; NULL if the run loop must step one instruction
 * (TLB miss, page-crossing or CS-limit-crossing first instruction). The
 * common case, 64-bit or flat code hitting the TLB and the cache, is inline.
 */
static inline __attribute__((always_inline)) const struct block *block_get(struct cpu *cpu)
{
	uint64_t lin = cpu->s.rip, pa;
	const struct tlb_entry *e;
	struct block *b;
	unsigned rest;

	if (cpu->mode != MODE_LONG64) {
		const struct rv_segment *cs = &cpu->s.seg[RV_CS];

		/* the block must end within the CS limit too: leave such checks to the slow half */
		if (cs->limit != 0xffffffff)
			return block_get_slow(cpu);
		lin = (uint32_t)(cs->base + lin);
	}
	e = &cpu->tlb[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK];
	/* (a non-canonical RIP never matches: tags hold canonical pages) */
	if (__builtin_expect(e->tag_exec != tlb_key(cpu, lin), 0))
		return block_get_slow(cpu);
	pa = cpu->tlbi[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK].pa | (lin & 0xfff);
	b = block_slot(cpu->bcache, pa);
	rest = 4096 - (unsigned)(lin & 0xfff);
	if (__builtin_expect(b->key == block_key(pa, cpu->code_size), 1)) {
		if (__builtin_expect(b->epoch == cpu->bcache->epoch, 1))
			return b;
		if (block_same((const uint8_t *)tlb_host(e, lin), b->raw, b->nbytes, rest)) {
			b->epoch = cpu->bcache->epoch;
			return b;
		}
	}
	return block_get_slow(cpu);
}

/* True if the opcode's handler may change mode, CPL, TLB or interrupt state (optable.c). */
bool cpu_op_ends_block(unsigned map, unsigned opcode);
/* The specialised handler for a decoded form (exec_fast.c), or NULL to keep the generic one. */
insn_fn cpu_fast_handler(const struct insn *in);
/* The same for memory-operand, stack and near call/return forms (exec_fastmem.c). */
insn_fn cpu_fast_mem_handler(const struct insn *in);
/*
 * Block building only: `in` is followed in the same block by `next`; if in
 * is a rotate whose flags next overwrites unread (and next cannot fault),
 * give in a handler that skips computing them (exec_fast.c).
 */
void cpu_fast_drop_dead_flags(struct insn *in, const struct insn *next);
/* True if decoding produced a #UD or #GP (too long) instruction (decode.c). */
bool cpu_insn_is_invalid(const struct insn *in);

static inline unsigned codemap_bit(uint64_t pa)
{
	uint64_t pfn = pa >> 12;

	return (unsigned)(pfn ^ (pfn >> 16)) & (CODEMAP_BITS - 1);
}

/* Might guest-physical page `pa` hold cached blocks of this vCPU? (false positives are harmless) */
static inline bool codemap_test(const struct cpu *cpu, uint64_t pa)
{
	unsigned b = codemap_bit(pa);

	return cpu->bcache && ((cpu->bcache->codemap[b / 64] >> (b % 64)) & 1);
}

/*
 * The store slow path calls this for every RAM page it writes: a store into
 * the page of the block being run ends that block after the current
 * instruction, so the next block entry re-validates (and re-decodes) it.
 */
static inline void block_note_write(struct cpu *cpu, uint64_t pa)
{
	if (((pa ^ cpu->blk_page) & ~0xfffull) == 0)
		cpu->blk_stop = 1;
	if (codemap_test(cpu, pa))
		cpu->bcache->epoch++;	/* other blocks on that page compare their bytes again */
}

#endif
