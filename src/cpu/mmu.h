/* Private to the MMU and the run loop: TLB keys and page translation. */
#ifndef RV_CPU_MMU_H
#define RV_CPU_MMU_H

#include "cpu/cpu.h"

#define TLB_MASK (TLB_SIZE - 1)

/* The tag a valid entry holds for `lin`: page | asid | valid bit. */
static inline uint64_t tlb_key(const struct cpu *cpu, uint64_t lin)
{
	return (lin & ~0xfffull) | ((cpu->asid & 0x7ff) << 1) | 1;
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
	uint64_t pa;		/* guest-physical page */
	uintptr_t addend;	/* host = lin + addend, for TLBF_RAM/TLBF_ROM */
	uint32_t flags;		/* TLBF_* */
};

/*
 * Inline fast paths for hot handlers: in 64-bit mode, a DS/ES/SS/CS access
 * that hits the TLB, is naturally aligned and stays in its page is a
 * compare and an add. (A TLB hit implies a canonical page: entries are
 * filled only after cpu_linear's checks.) Everything else takes the full
 * cpu_read/cpu_write with all checks.
 */
static inline uint64_t cpu_read_fast(struct cpu *cpu, int seg, uint64_t off, unsigned size)
{
	if (__builtin_expect(cpu->mode == MODE_LONG64 && seg < RV_FS, 1)) {
		const struct tlb_entry *e = &cpu->tlb[cpu->s.cpl == 3][(off >> 12) & TLB_MASK];

		if (__builtin_expect(e->tag_read == tlb_key(cpu, off) && !(off & (size - 1)), 1)) {
			uint64_t v = 0;

			__builtin_memcpy(&v, (const void *)(uintptr_t)(off + e->addend), size);
			return v;
		}
	}
	return cpu_read(cpu, seg, off, size);
}

static inline void cpu_write_fast(struct cpu *cpu, int seg, uint64_t off, uint64_t v, unsigned size)
{
	if (__builtin_expect(cpu->mode == MODE_LONG64 && seg < RV_FS, 1)) {
		const struct tlb_entry *e = &cpu->tlb[cpu->s.cpl == 3][(off >> 12) & TLB_MASK];

		if (__builtin_expect(e->tag_write == tlb_key(cpu, off) && !(off & (size - 1)), 1)) {
			__builtin_memcpy((void *)(uintptr_t)(off + e->addend), &v, size);
			return;
		}
	}
	cpu_write(cpu, seg, off, v, size);
}

/* Walk the page tables for `lin` and access `acc` (faults with #PF), fill the TLB. */
void mmu_xlate_page(struct cpu *cpu, uint64_t lin, int acc, struct xlat *x);

#endif
