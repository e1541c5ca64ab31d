/* Private to the MMU and the run loop: TLB keys and page translation. */
#ifndef RV_CPU_MMU_H
#define RV_CPU_MMU_H

#include "cpu/cpu.h"

#define TLB_MASK (TLB_SIZE - 1)

/* The tag a valid entry holds for `lin`: its page address. */
static inline uint64_t tlb_key(const struct cpu *cpu, uint64_t lin)
{
	return lin & ~0xfffull;
}

/* Which TLB an access uses: [1] for CPL-3 accesses that are not implicitly supervisor. */
static inline unsigned tlb_priv(const struct cpu *cpu, int acc)
{
	return !(acc & ACC_IMPLICIT_SV) && cpu->s.cpl == 3;
}

static inline bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* The result of translating one page. */
struct xlat {
	uint64_t pa;		/* physical page; with nested paging the host's (L1's), both dimensions walked */
	uintptr_t addend;	/* host = lin + addend, for TLBF_RAM/TLBF_ROM */
	uint32_t flags;		/* TLBF_* */
};

/*
 * Recompute cpu->flat_rd/flat_wr from the segment caches and the mode
 * (cpu.c). cpu_update_mode() calls it (every CS/SS load and mode change),
 * and the run loop on entry, after events, and after a block or step that
 * ended with a system opcode other than those sys_keeps_segs() lists
 * (data segment loads are system opcodes, which end blocks).
 */
void cpu_update_flat(struct cpu *cpu);

/*
 * Inline fast paths for hot handlers: an access through a flat segment
 * (cpu->flat_rd/flat_wr: 64-bit mode, or base 0 / limit 4G-1 / type
 * allows it) that hits the TLB and is naturally aligned is a compare and
 * an add. Natural alignment means: no page crossing, no #AC, and no
 * 32-bit limit overflow (off is already truncated to the address size).
 * MMIO, ROM stores, watched pages and code pages have no fast tag, so they
 * and everything else take the full cpu_read/cpu_write with all checks.
 * (A TLB hit implies a canonical page: entries are filled only after
 * cpu_linear's checks.)
 */
static inline __attribute__((always_inline)) const void *cpu_host_rd(struct cpu *cpu, int seg, uint64_t off,
								     unsigned size)
{
	if (__builtin_expect((cpu->flat_rd >> seg) & 1, 1)) {
		const struct tlb_entry *e = &cpu->tlb[cpu->s.cpl == 3][(off >> 12) & TLB_MASK];

		if (__builtin_expect(e->tag_read == tlb_key(cpu, off) && !(off & (size - 1)), 1))
			return (const void *)tlb_host(e, off);
	}
	return NULL;
}

static inline __attribute__((always_inline)) void *cpu_host_wr(struct cpu *cpu, int seg, uint64_t off,
							       unsigned size)
{
	if (__builtin_expect((cpu->flat_wr >> seg) & 1, 1)) {
		const struct tlb_entry *e = &cpu->tlb[cpu->s.cpl == 3][(off >> 12) & TLB_MASK];

		if (__builtin_expect(e->tag_write == tlb_key(cpu, off) && !(off & (size - 1)), 1))
			return (void *)tlb_host(e, off);
	}
	return NULL;
}

static inline __attribute__((always_inline)) uint64_t cpu_read_fast(struct cpu *cpu, int seg, uint64_t off,
								   unsigned size)
{
	const void *p = cpu_host_rd(cpu, seg, off, size);

	if (__builtin_expect(p != NULL, 1)) {
		uint64_t v = 0;

		__builtin_memcpy(&v, p, size);
		return v;
	}
	return cpu_read(cpu, seg, off, size);
}

static inline __attribute__((always_inline)) void cpu_write_fast(struct cpu *cpu, int seg, uint64_t off,
								uint64_t v, unsigned size)
{
	void *p = cpu_host_wr(cpu, seg, off, size);

	if (__builtin_expect(p != NULL, 1)) {
		__builtin_memcpy(p, &v, size);
		return;
	}
	cpu_write(cpu, seg, off, v, size);
}

/*
 * This vCPU stored [pa, pa + len) into guest RAM (within one page) on a
 * slow path: a page holding translated code makes the translator drop
 * what the store overwrote (src/jit), before translated code runs again.
 */
static inline void cpu_note_store(struct cpu *cpu, uint64_t pa, unsigned len)
{
	if (__builtin_expect(cpu_code_page(cpu, pa), 0))
		cpu->xlat->code_written(cpu, pa, len);
}

/*
 * The code_vpages bit of a 4 KiB page (level 0), or of the 2 MiB (1) or
 * 1 GiB (2) region a large page covers: a target in a large page is
 * marked by its region, since an INVLPG anywhere in it drops the mapping.
 */
static inline unsigned code_vpage_bit(uint64_t lin, unsigned level)
{
	uint64_t n = (lin >> (12 + 9 * level)) * 4 + level;

	return (unsigned)(n ^ (n >> 12) ^ (n >> 24)) & 4095;
}

static inline bool code_vpage_test(const struct cpu *cpu, uint64_t lin, unsigned level)
{
	unsigned b = code_vpage_bit(lin, level);

	return (cpu->code_vpages[b / 64] >> (b % 64)) & 1;
}

/* Walk the page tables for `lin` and access `acc` (faults with #PF), fill the TLB. */
void mmu_xlate_page(struct cpu *cpu, uint64_t lin, int acc, struct xlat *x);

/* paging.c, for the fill and tlb_ctx.c: entry [priv][idx] is in use (the flushes' lists) */
void tlb_note_used(struct cpu *cpu, unsigned priv, unsigned idx, bool global);
/*
 * The last steps of a fill of e for lin (physical page pa): watched pages,
 * code pages made meanwhile (after a fence; `fenced`: the caller made one
 * after storing a batch of entries).
 */
void tlb_fill_finish(struct cpu *cpu, struct tlb_entry *e, uint64_t lin, uint64_t pa, bool fenced);
/* Drop the entries of lin's page, or of a large page around it, from a TLB (the cpu's or a kept one). */
void tlb_kill_page(struct tlb_entry (*tlb)[TLB_SIZE], const struct tlb_info (*tlbi)[TLB_SIZE], uint8_t large_shifts,
		   uint64_t lin);

/*
 * tlb_ctx.c: cpu->tlb_back is the kept TLB of the running address space,
 * whose entries the fill takes back one by one as they are missed
 * (tlb_ctx_take: true when x is filled so), and which every flush of the
 * running TLB reaches too.
 */
bool tlb_ctx_take(struct cpu *cpu, unsigned priv, unsigned idx, uint64_t lin, int acc, struct xlat *x);
void tlb_ctx_back_flush(struct cpu *cpu, bool global);
void tlb_ctx_back_flush_page(struct cpu *cpu, uint64_t lin);

#endif
