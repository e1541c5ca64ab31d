/*
 * The TLB of each address space (AMD APM vol. 2, 15.16): the host's
 * (ASID 0) and recent guest ASIDs' entries, kept across world switches
 * outside cpu->tlb.
 *
 * The entries of the running address space stay untagged in cpu->tlb,
 * where the inline lookups of the interpreter and of translated code
 * (which address it absolutely) find them: a hit costs what it always
 * did. Leaving an address space adds the entries the used lists name to
 * its context, and empties cpu->tlb as a flush did. Entering one makes
 * its context the running TLB's backing (cpu->tlb_back): the fill takes
 * an entry back from it on a miss, in place of a walk, and the flushes
 * of the running TLB reach it too. So a world switch costs what the
 * entries used since the last one cost, not what the contexts hold.
 *
 * A context is kept with what its entries were computed from: paging
 * registers, nested paging's nCR3 and the host's paging format, the
 * memory map. Entered with other ones it is dropped (or only its
 * non-global entries, for another CR3, as a MOV CR3 would drop them): the
 * architecture lets a TLB forget any entry, so every doubt resolves to a
 * flush. What may change under a kept entry without a flush, the
 * breakpoints and the pages that hold code, is checked again when the
 * entry is taken back, as a fill checks it.
 *
 * The translator's target cache (indirect branches by virtual address)
 * is valid while cpu->code_gen is the one its entries were made under: a
 * context keeps the generations and code_vpages it was left with, and
 * gets them back when it is entered untouched, so the host's returns and
 * indirect calls still hit after an L2 ran. Generations are unique (a
 * clock): those of another address space never match.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"

/* Address spaces kept besides the running one; the least recently left goes first. */
#define TLB_CTX_SLOTS 8
/* Contexts whose entries in use are at most this many are loaded whole (cpu_tlb_ctx_load). */
#define TLB_CTX_EAGER 1024

/* The paging state a context's entries were computed from, CR3 apart (tlb_ctx.cr3). */
struct tlb_ctx_key {
	uint64_t cr0, cr4, efer;	/* the bits the walk and the rights use */
	bool np;
	uint64_t ncr3, hcr4, hefer;	/* nested paging: nCR3 and the host's format (15.25.3) */
};

/*
 * A TLB like cpu's: only the entries its used lists name are its own (an
 * entry at another index is a leftover of an earlier owner of the slot).
 */
struct tlb_ctx {
	bool valid;
	uint32_t asid;
	uint64_t stamp;			/* when it was left: the oldest is reused first */
	struct tlb_ctx_key key;
	uint64_t cr3;
	uint64_t mem_generation;	/* of the memory map the host pointers come from */
	uint8_t large_shifts;
	bool code_gen_kept;		/* code_gen and code_vpages hold: nothing was dropped since the save */
	uint32_t code_gen[2];
	uint64_t code_vpages[64];
	unsigned nused[2];
	uint16_t used[2][2 * TLB_SIZE];
	uint64_t inuse[2][2 * TLB_SIZE / 64];
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

static void ctx_drop(struct cpu *cpu, struct tlb_ctx *c)
{
	c->valid = false;
	c->code_gen_kept = false;
	if (cpu->tlb_back == c)
		cpu->tlb_back = NULL;
}

/* Drop the entries of list g (0: from non-global pages), as cpu_tlb_flush() does cpu's. */
static void ctx_drop_list(struct tlb_ctx *c, unsigned g)
{
	for (unsigned u = 0; u < c->nused[g]; u++) {
		unsigned k = c->used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;

		c->tlb[p][i].tag_read = c->tlb[p][i].tag_write = c->tlb[p][i].tag_exec = tlb_tag_none(i);
	}
	c->code_gen_kept = false;
	c->nused[g] = 0;
	memset(c->inuse[g], 0, sizeof(c->inuse[g]));
}

void cpu_tlb_ctx_free(struct cpu *cpu)
{
	cpu->tlb_back = NULL;
	free(cpu->tlb_ctx);
	cpu->tlb_ctx = NULL;
}

void cpu_tlb_flush_asids(struct cpu *cpu)
{
	for (unsigned i = 0; cpu->tlb_ctx && i < TLB_CTX_SLOTS; i++)
		ctx_drop(cpu, &cpu->tlb_ctx[i]);
	cpu_tlb_flush_all(cpu);
}

/* The context to keep `asid` in: the running TLB's backing, else an empty slot, the least recently left first. */
static struct tlb_ctx *ctx_for_save(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = cpu->tlb_back;

	cpu->tlb_back = NULL;
	if (c && c->asid == asid)
		return c;
	if (!cpu->tlb_ctx) {
		/* (calloc: pages of the slots no entry reaches stay untouched) */
		cpu->tlb_ctx = calloc(TLB_CTX_SLOTS, sizeof(struct tlb_ctx));
		if (!cpu->tlb_ctx)
			return NULL;
	}
	c = ctx_find(cpu, asid);
	if (!c) {
		c = &cpu->tlb_ctx[0];
		for (unsigned i = 1; i < TLB_CTX_SLOTS && c->valid; i++) {
			struct tlb_ctx *o = &cpu->tlb_ctx[i];

			if (!o->valid || o->stamp < c->stamp)
				c = o;
		}
	}
	c->nused[0] = c->nused[1] = 0;
	memset(c->inuse, 0, sizeof(c->inuse));
	c->large_shifts = 0;
	return c;
}

void cpu_tlb_ctx_save(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_for_save(cpu, asid);

	if (!c) {
		cpu_tlb_flush_all(cpu);	/* nothing kept: as without tags */
		return;
	}
	c->valid = true;
	c->asid = asid;
	c->stamp = ++cpu->tlb_ctx_clock;
	key_of(cpu, &c->key);
	c->cr3 = cpu->s.cr3;
	c->mem_generation = cpu->mem_generation;
	c->large_shifts |= cpu->tlb_large_shifts;
	/* what the target cache's entries of this address space were made under */
	memcpy(c->code_gen, cpu->code_gen, sizeof(c->code_gen));
	memcpy(c->code_vpages, cpu->code_vpages, sizeof(c->code_vpages));
	c->code_gen_kept = true;
	/* the entries used since the context was entered replace those at their indexes */
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < cpu->tlb_nused[g]; u++) {
			unsigned k = cpu->tlb_used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;

			c->tlb[p][i] = cpu->tlb[p][i];
			c->tlbi[p][i] = cpu->tlbi[p][i];
			if (!((c->inuse[g][k / 64] >> (k % 64)) & 1)) {
				c->inuse[g][k / 64] |= 1ull << (k % 64);
				c->used[g][c->nused[g]++] = (uint16_t)k;
			}
		}
	cpu_tlb_flush_all(cpu);
}

/*
 * Entry [priv][idx] of c back in cpu->tlb, checked again as a fill checks
 * a new one; without the fill's second look at the code pages (after a
 * fence: tlb_fill_finish) when `batch`, for the caller to make once for
 * all the entries it takes.
 */
static void take_back(struct cpu *cpu, const struct tlb_ctx *c, unsigned priv, unsigned idx, uint64_t lin,
		      bool batch)
{
	const struct tlb_info *bi = &c->tlbi[priv][idx];
	struct tlb_entry *e = &cpu->tlb[priv][idx];
	uint64_t none = tlb_tag_none(idx);

	*e = c->tlb[priv][idx];
	/* pages that became code since: stores on the slow path (as the fill makes them) */
	if (e->tag_write != none && (codemap_test(cpu, bi->pa) || cpu_code_page(cpu, bi->pa)))
		e->tag_write = none;
	cpu->tlbi[priv][idx] = *bi;
	tlb_note_used(cpu, priv, idx, (bi->flags & TLBF_GLOBAL) != 0);
	if (bi->flags & TLBF_LARGE)
		cpu->tlb_large_shifts |= (uint8_t)(1u << (bi->size_shift - 21));
	if (!batch)
		tlb_fill_finish(cpu, e, lin, bi->pa, false);
}

void cpu_tlb_ctx_load(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);
	struct tlb_ctx_key k;

	/* cpu_tlb_ctx_save() emptied cpu->tlb; a fill since (of the state left) must not stay */
	if (cpu->tlb_nused[0] || cpu->tlb_nused[1])
		cpu_tlb_flush_all(cpu);
	if (!c)
		return;
	key_of(cpu, &k);
	/* (the map's own generation: the run loop may not have seen a change yet) */
	if (!key_eq(&k, &c->key) || c->mem_generation != cpu->mem->generation) {
		ctx_drop(cpu, c);
		return;
	}
	if (c->code_gen_kept) {
		/* another CR3: as a MOV CR3, a new generation for the non-global pages */
		cpu->code_gen[0] = c->cr3 == cpu->s.cr3 ? c->code_gen[0] : ++cpu->code_gen_clock;
		cpu->code_gen[1] = c->code_gen[1];
		memcpy(cpu->code_vpages, c->code_vpages, sizeof(cpu->code_vpages));
	}
	if (c->cr3 != cpu->s.cr3)
		ctx_drop_list(c, 0);
	cpu->tlb_back = c;
	/*
	 * A small working set (what the last visit used) comes back at once:
	 * taken on a miss, each entry costs translated code a slow path,
	 * which is most of an L2 exit's round trip through a hypervisor.
	 */
	if (c->nused[0] + c->nused[1] > TLB_CTX_EAGER)
		return;
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < c->nused[g]; u++) {
			unsigned e = c->used[g][u], p = e / TLB_SIZE, i = e % TLB_SIZE;

			take_back(cpu, c, p, i, c->tlbi[p][i].va, true);
		}
	/* the fill's last steps for them all, after one fence */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned g = 0; g < 2; g++)
		for (unsigned u = 0; u < cpu->tlb_nused[g]; u++) {
			unsigned e = cpu->tlb_used[g][u], p = e / TLB_SIZE, i = e % TLB_SIZE;

			tlb_fill_finish(cpu, &cpu->tlb[p][i], cpu->tlbi[p][i].va, cpu->tlbi[p][i].pa, true);
		}
}

void cpu_tlb_ctx_drop(struct cpu *cpu, uint32_t asid)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);

	if (c)
		ctx_drop(cpu, c);
}

void cpu_tlb_ctx_flush_page(struct cpu *cpu, uint32_t asid, uint64_t lin)
{
	struct tlb_ctx *c = ctx_find(cpu, asid);

	if (cpu->native)	/* which address space its mirror holds is its business: it drops all */
		cpu->native->tlb_flush(cpu, CPU_NATIVE_FLUSH_ALL);
	if (c) {
		tlb_kill_page(c->tlb, c->tlbi, c->large_shifts, lin);
		c->code_gen_kept = false;
	}
}

void tlb_ctx_back_flush(struct cpu *cpu, bool global)
{
	if (global)
		ctx_drop(cpu, cpu->tlb_back);
	else
		ctx_drop_list(cpu->tlb_back, 0);
}

void tlb_ctx_back_flush_page(struct cpu *cpu, uint64_t lin)
{
	struct tlb_ctx *c = cpu->tlb_back;

	tlb_kill_page(c->tlb, c->tlbi, c->large_shifts, lin);
}

bool tlb_ctx_take(struct cpu *cpu, unsigned priv, unsigned idx, uint64_t lin, int acc, struct xlat *x)
{
	const struct tlb_ctx *c = cpu->tlb_back;
	const struct tlb_entry *b = &c->tlb[priv][idx];
	const struct tlb_info *bi = &c->tlbi[priv][idx];
	struct tlb_entry *e = &cpu->tlb[priv][idx];
	unsigned k = priv * TLB_SIZE + idx;
	uint64_t key = tlb_key(cpu, lin);
	uint64_t tag = (acc & 3) == ACC_WRITE ? b->tag_write : (acc & 3) == ACC_EXEC ? b->tag_exec : b->tag_read;

	if (!(((c->inuse[0][k / 64] | c->inuse[1][k / 64]) >> (k % 64)) & 1) || tag != key)
		return false;
	/* a slow path that missed for another reason (a crossing, a clean page): the walk refreshes the entry */
	if (e->tag_read == key || e->tag_write == key || e->tag_exec == key)
		return false;
	take_back(cpu, c, priv, idx, lin, false);
	x->pa = bi->pa;
	x->flags = bi->flags;
	x->addend = b->host - (uintptr_t)(lin & ~0xfffull);
	return true;
}
