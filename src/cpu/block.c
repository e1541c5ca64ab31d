/*
 * The block cache: runs of decoded instructions ("blocks") keyed by the
 * guest-physical address of their first byte and the code size, so the
 * run loop calls handlers back to back with no fetch, TLB or decode-cache
 * lookup between them.
 *
 * A block ends at the end of its page (it never spans two), after
 * BLOCK_MAX_INSNS, after an unconditional branch, and after any opcode
 * that may change mode, CPL, paging, the interrupt shadow or the flags the
 * run loop watches (the system table, cpu_op_ends_block). The run loop
 * also leaves a block as soon as an instruction branches (next_rip is not
 * the fall-through), so a not-taken Jcc continues in the same block.
 *
 * Self-modifying code, two mechanisms:
 *  - every block entry compares the block's bytes with guest memory (a
 *    memcmp of a few dozen bytes, far cheaper than decoding). This sees
 *    any writer: this vCPU, other vCPUs, device DMA, the VMM. Writes by
 *    others need no more: x86 requires the executing CPU to serialize
 *    before it runs cross-modified code (SDM vol. 3, 8.1.3).
 *  - a store by this vCPU into the block it is running must be seen by
 *    the very next instruction (SDM vol. 3, 11.6). Pages that hold blocks
 *    are marked in a hashed bitmap (codemap); the TLB never gives them a
 *    write fast-path tag, so their stores reach the MMU slow path, which
 *    calls block_note_write(): the block ends after the storing
 *    instruction and the next entry re-validates and re-decodes.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"

struct block_cache *bcache_new(void)
{
	return calloc(1, sizeof(struct block_cache));
}

void bcache_free(struct block_cache *bc)
{
	free(bc);
}

/* Mark page pa as holding code: stores to it through any TLB entry now take the slow path. */
static void codemap_add(struct cpu *cpu, uint64_t pa)
{
	unsigned b = codemap_bit(pa);
	uint64_t *w = &cpu->bcache->codemap[b / 64];

	if ((*w >> (b % 64)) & 1)
		return;
	*w |= 1ull << (b % 64);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < cpu->tlb_nused[g]; u++) {
			unsigned k = cpu->tlb_used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;

			if (codemap_bit(cpu->tlbi[p][i].pa) == b)
				cpu->tlb[p][i].tag_write = tlb_tag_none(i);
		}
}

/* The arena is full: drop every block (they are rebuilt on demand). */
static void bcache_reset(struct block_cache *bc)
{
	for (unsigned i = 0; i < BCACHE_SIZE; i++)
		bc->hdr[i].key = 0;
	bc->insn_used = bc->byte_used = 0;
}

/* Is this an unconditional near branch (nothing after it in the block would run)? */
static bool insn_ends_block(const struct insn *in)
{
	if (in->map != MAP_1B)
		return false;
	switch (in->opcode) {
	case 0xc2: case 0xc3: case 0xe8: case 0xe9: case 0xeb:
		return true;
	case 0xff:
		return (in->reg & 7) >= 2 && (in->reg & 7) <= 5;
	default:
		return false;
	}
}

/* Decode the block at pa (host bytes `host`, `room` of them before the page end or CS limit). */
static const struct block *block_build(struct cpu *cpu, struct block *b, uint64_t pa,
				       const uint8_t *host, unsigned room)
{
	struct block_cache *bc = cpu->bcache;
	unsigned pos = 0, n = 0;
	struct insn *first;
	uint8_t *raw;

	if (bc->insn_used + BLOCK_MAX_INSNS > BCACHE_INSNS || bc->byte_used + BLOCK_MAX_BYTES + 8 > BCACHE_BYTES)
		bcache_reset(bc);
	first = &bc->insn[bc->insn_used];
	b->key = 0;
	/*
	 * Decode from a private copy, which is also what later entries compare
	 * with: another vCPU writing meanwhile cannot make the decoded
	 * instructions differ from the bytes they are validated against.
	 */
	if (room > BLOCK_MAX_BYTES)
		room = BLOCK_MAX_BYTES;
	raw = &bc->bytes[bc->byte_used];
	memcpy(raw, host, room);
	host = raw;
	b->ends_sys = 0;
	while (n < BLOCK_MAX_INSNS && pos < room) {
		struct insn *in = &first[n];
		int len = cpu_decode(cpu, host + pos, room - pos, in);

		/* 0: the instruction runs past the page or the CS limit; the run loop steps it */
		if (len <= 0 || (unsigned)len > room - pos)
			break;
		pos += (unsigned)len;
		if (n > 0)
			cpu_fast_drop_dead_flags(&first[n - 1], in);
		n++;
		if (cpu_op_ends_block(in->map, in->opcode)) {
			b->ends_sys = 1;
			break;
		}
		if (insn_ends_block(in) || cpu_insn_is_invalid(in))
			break;
	}
	if (n == 0)
		return NULL;
	memset(raw + pos, 0, 8);	/* the padding block_same() masks off */
	b->in = first;
	b->raw = raw;
	b->ninsn = (uint16_t)n;
	b->nbytes = (uint16_t)pos;
	bc->insn_used += n;
	bc->byte_used += (pos + 7) & ~7u;
	b->key = block_key(pa, cpu->code_size);
	codemap_add(cpu, pa);
	b->epoch = bc->epoch;
	return b;
}

/* Slow half of block_get (block.h): locate the page, check the cache, decode on a miss. */
const struct block *block_get_slow(struct cpu *cpu)
{
	uint64_t rip = cpu->s.rip, lin, pa;
	unsigned off, room;
	const struct tlb_entry *e;
	const uint8_t *host;
	struct block *b;

	if (cpu->mode == MODE_LONG64) {
		if (__builtin_expect(!canonical(rip), 0))
			return NULL;
		lin = rip;
		room = 4096 - (unsigned)(lin & 0xfff);
	} else {
		const struct rv_segment *cs = &cpu->s.seg[RV_CS];

		if (__builtin_expect(rip > cs->limit, 0))
			return NULL;
		lin = (uint32_t)(cs->base + rip);
		room = 4096 - (unsigned)(lin & 0xfff);
		if (cs->limit - rip < room)
			room = (unsigned)(cs->limit - rip) + 1;
	}
	/* a TLB miss: the single-step fetch walks the page tables (and raises any fault) */
	e = &cpu->tlb[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK];
	if (__builtin_expect(e->tag_exec != tlb_key(cpu, lin), 0))
		return NULL;
	off = lin & 0xfff;
	pa = cpu->tlbi[cpu->s.cpl == 3][(lin >> 12) & TLB_MASK].pa | off;
	host = (const uint8_t *)tlb_host(e, lin);
	b = block_slot(cpu->bcache, pa);
	if (b->key == block_key(pa, cpu->code_size) && b->nbytes <= room && memcmp(host, b->raw, b->nbytes) == 0) {
		b->epoch = cpu->bcache->epoch;
		return b;
	}
	return block_build(cpu, b, pa, host, room);
}
