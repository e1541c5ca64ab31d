/*
 * The TLB of each address space (AMD APM vol. 2, 15.16): the host's
 * (ASID 0) and recent guest ASIDs' entries, kept across world switches
 * outside cpu->tlb and swapped in at VMRUN and #VMEXIT.
 *
 * The entries stay untagged in cpu->tlb, where the inline lookups of the
 * interpreter and of translated code (which address it absolutely) find
 * them: a hit costs what it always did. A switch copies only the entries
 * the used lists name, out and back, so it costs what the flush it
 * replaces costs, plus as much again per entry kept.
 *
 * A context is kept with what its entries were computed from: paging
 * registers, nested paging's nCR3 and the host's paging format, the
 * memory map, the breakpoints the entries were filtered for. Entered
 * with other ones it is dropped (or only its non-global entries, for
 * another CR3, as a MOV CR3 would drop them): the architecture lets a
 * TLB forget any entry, so every doubt resolves to a flush.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"

/* Address spaces kept besides the running one; the least recently left goes first. */
#define TLB_CTX_SLOTS 8

/* The paging state a context's entries were computed from, CR3 apart (tlb_ctx.cr3). */
struct tlb_ctx_key {
	uint64_t cr0, cr4, efer;	/* the bits the walk and the rights use */
	bool np;
	uint64_t ncr3, hcr4, hefer;	/* nested paging: nCR3 and the host's format (15.25.3) */
};

struct tlb_ctx {
	bool valid;
	uint32_t asid;
	uint64_t stamp;			/* when it was left: the oldest is reused first */
	struct tlb_ctx_key key;
	uint64_t cr3;
	uint64_t mem_generation;	/* of the memory map the host pointers come from */
	uint64_t dbg_seen[5];		/* the breakpoints the entries were filtered for (debug.c) */
	uint8_t large_shifts;
	unsigned nused[2];
	uint16_t used[2][2 * TLB_SIZE];
	uint64_t inuse[2][2 * TLB_SIZE / 64];
	/* at the indexes of cpu->tlb and cpu->tlbi; only those the lists name mean anything */
	struct tlb_entry tlb[2][TLB_SIZE];
	struct tlb_info tlbi[2][TLB_SIZE];
};

static void key_of(const struct cpu *cpu, struct tlb_ctx_key *k)
{
	const struct cpu_svm_host *h = &cpu->svm.host;

	*k = (struct tlb_ctx_key){
		.cr0 = cpu->s.cr0 & (RV_CR0_PE | RV_CR0_PG | RV_CR0_WP),
		.cr4 = cpu->s.cr4 & (RV_CR4_PSE | RV_CR4_PAE | RV_CR4_PGE | RV_CR4_SMEP),
		.efer = cpu->s.efer & (RV_EFER_NXE | RV_EFER_LMA),
		.np = cpu->svm.np,
	};
	if (k->np) {
		k->ncr3 = cpu->svm.ncr3;
		k->hcr4 = h->cr4 & (RV_CR4_PSE | RV_CR4_PAE);
		k->hefer = h->efer & (RV_EFER_NXE | RV_EFER_LMA);
	}
}

static bool key_eq(const struct tlb_ctx_key *a, const struct tlb_ctx_key *b)
{
	return a->cr0 == b->cr0 && a->cr4 == b->cr4 && a->efer == b->efer && a->np == b->np &&
	       a->ncr3 == b->ncr3 && a->hcr4 == b->hcr4 && a->hefer == b->hefer;
}

static struct tlb_ctx *ctx_find(struct cpu *cpu, uint32_t asid)
{
	for (unsigned i = 0; cpu->tlb_ctx && i < TLB_CTX_SLOTS; i++)
		if (cpu->tlb_ctx[i].valid && cpu->tlb_ctx[i].asid == asid)
			return &cpu->tlb_ctx[i];
	return NULL;
}

/* Copy the entries the used lists of a TLB name, and the lists, to another (the cpu's or a context's). */
static void copy_tlb(struct tlb_entry (*tlb)[TLB_SIZE], struct tlb_info (*tlbi)[TLB_SIZE],
		     uint16_t (*used)[2 * TLB_SIZE], unsigned *nused, uint64_t (*inuse)[2 * TLB_SIZE / 64],
		     const struct tlb_entry (*from)[TLB_SIZE], const struct tlb_info (*fromi)[TLB_SIZE],
		     const uint16_t (*fused)[2 * TLB_SIZE], const unsigned *fnused,
		     const uint64_t (*finuse)[2 * TLB_SIZE / 64])
{
	for (unsigned g = 0; g < 2; g++) {
		nused[g] = fnused[g];
		memcpy(used[g], fused[g], nused[g] * sizeof(used[g][0]));
		memcpy(inuse[g], finuse[g], sizeof(inuse[g]));
		for (unsigned u = 0; u < nused[g]; u++) {
			unsigned k = used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;

			tlb[p][i] = from[p][i];
			tlbi[p][i] = fromi[p][i];
		}
	}
}

void cpu_tlb_ctx_free(struct cpu *cpu)
{
	free(cpu->tlb_ctx);
	cpu->tlb_ctx = NULL;
}

void cpu_tlb_flush_asids(struct cpu *cpu)
{
	for (unsigned i = 0; cpu->tlb_ctx && i < TLB_CTX_SLOTS; i++)
		cpu->tlb_ctx[i].valid = false;
	cpu_tlb_flush_all(cpu);
}

void cpu_tlb_ctx_save(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);

	if (!cpu->tlb_ctx) {
		/* (calloc: pages of the slots no entry reaches stay untouched) */
		cpu->tlb_ctx = calloc(TLB_CTX_SLOTS, sizeof(struct tlb_ctx));
		if (!cpu->tlb_ctx) {
			cpu_tlb_flush_all(cpu);	/* nothing kept: as without tags */
			return;
		}
	}
	if (!c) {
		c = &cpu->tlb_ctx[0];
		for (unsigned i = 1; i < TLB_CTX_SLOTS && c->valid; i++) {
			struct tlb_ctx *o = &cpu->tlb_ctx[i];

			if (!o->valid || o->stamp < c->stamp)
				c = o;
		}
	}
	c->valid = true;
	c->asid = asid;
	c->stamp = ++cpu->tlb_ctx_clock;
	key_of(cpu, &c->key);
	c->cr3 = cpu->s.cr3;
	c->mem_generation = cpu->mem_generation;
	memcpy(c->dbg_seen, cpu->dbg_seen, sizeof(c->dbg_seen));
	c->large_shifts = cpu->tlb_large_shifts;
	copy_tlb(c->tlb, c->tlbi, c->used, c->nused, c->inuse, cpu->tlb, cpu->tlbi, cpu->tlb_used, cpu->tlb_nused,
		 cpu->tlb_inuse);
	cpu_tlb_flush_all(cpu);
}

/*
 * A write fast path of a page that became one of code while the context
 * was out (block.c, src/jit) was swept from cpu->tlb only: take it away
 * now. After a full fence, as the fill does (paging.c), so that a
 * translator marking a page on another thread either sees the entry in
 * its sweep or is seen here.
 */
static void recheck_write_tags(struct cpu *cpu)
{
	if (cpu->code_granules)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < cpu->tlb_nused[g]; u++) {
			unsigned k = cpu->tlb_used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;
			struct tlb_entry *e = &cpu->tlb[p][i];
			uint64_t pa = cpu->tlbi[p][i].pa;

			if (e->tag_write != tlb_tag_none(i) && (codemap_test(cpu, pa) || cpu_code_page(cpu, pa)))
				__atomic_store_n(&e->tag_write, tlb_tag_none(i), __ATOMIC_RELAXED);
		}
}

void cpu_tlb_ctx_load(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);
	struct tlb_ctx_key k;

	if (!c)
		return;
	c->valid = false;	/* its entries are the running ones now */
	key_of(cpu, &k);
	/* (the map's own generation: the run loop may not have seen a change yet) */
	if (!key_eq(&k, &c->key) || c->mem_generation != cpu->mem->generation)
		return;
	/* cpu->tlb is empty: cpu_tlb_ctx_save() flushed it */
	copy_tlb(cpu->tlb, cpu->tlbi, cpu->tlb_used, cpu->tlb_nused, cpu->tlb_inuse, c->tlb, c->tlbi, c->used, c->nused,
		 c->inuse);
	cpu->tlb_large_shifts = c->large_shifts;
	memcpy(cpu->dbg_seen, c->dbg_seen, sizeof(cpu->dbg_seen));
	recheck_write_tags(cpu);
	if (c->cr3 != cpu->s.cr3)
		cpu_tlb_flush(cpu);
}

void cpu_tlb_ctx_drop(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);

	if (c)
		c->valid = false;
}

void cpu_tlb_ctx_flush_page(struct cpu *cpu, uint32_t asid, uint64_t lin)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);

	if (!c)
		return;
	/* the entries of the page, or of a large page around it (the lists name every live one) */
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < c->nused[g]; u++) {
			unsigned k = c->used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;
			const struct tlb_info *ti = &c->tlbi[p][i];

			if (ti->size_shift && ((ti->va ^ lin) >> ti->size_shift) == 0)
				c->tlb[p][i].tag_read = c->tlb[p][i].tag_write = c->tlb[p][i].tag_exec =
					tlb_tag_none(i);
		}
}
