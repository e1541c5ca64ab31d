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

/* Walk the page tables for `lin` and access `acc` (faults with #PF), fill the TLB. */
void mmu_xlate_page(struct cpu *cpu, uint64_t lin, int acc, struct xlat *x);

#endif
