/*
 * Paging (Intel SDM vol. 3, ch. 4): 32-bit with PSE(-36), PAE and 4-level
 * walks, rights, accessed/dirty bits, #PF error codes, the nested
 * (two-dimensional) walk of SVM guests (AMD APM vol. 2, 15.25), and the
 * TLB fill and flushes.
 */
#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"
#include "cpu/svm.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_G   (1ull << 8)
#define PTE_XD  (1ull << 63)

struct walk {
	uint64_t pa;		/* 4 KiB page */
	bool rw, us, nx, global, dirty, large;
	uint8_t shift;		/* log2 of the page size: 12, 21, 22 or 30 */
};

/*
 * One dimension of a walk: the guest's own tables (cpu->s), or with
 * nested paging the host's tables at nCR3, which translate guest-physical
 * addresses in the host's paging format (AMD APM vol. 2, 15.25.3).
 */
struct pgmode {
	uint64_t cr3, cr4, efer;
	bool wp;		/* CR0.WP */
	bool user;		/* a user access (nested walks always are, 15.25.5) */
	bool nested;		/* the nested tables: faults are #NPF, not #PF */
	bool gpt;		/* nested: the address is one of a guest page-table entry */
};

static void npt_walk(struct cpu *cpu, uint64_t gpa, unsigned kind, bool gpt, struct walk *w);

/*
 * #NPF (APM 15.25.6): a #VMEXIT whose EXITINFO1 is the error code of the
 * nested access as a #PF would give it (U always set: nested accesses are
 * user accesses), with bit 32 for the final guest-physical address or
 * bit 33 for a guest page-table access, and EXITINFO2 the guest-physical
 * address. The instruction does not retire.
 */
#define NPF_GPA (1ull << 32)
#define NPF_GPT (1ull << 33)

static _Noreturn void walk_fault(struct cpu *cpu, const struct pgmode *m, uint64_t lin, unsigned kind,
				 bool present, bool rsvd)
{
	uint32_t ec = 0;

	if (__builtin_expect(cpu->probe != NULL, 0))
		longjmp(*cpu->probe, 1);	/* no #NPF, no #PF: a probe (svm.c) */
	if (present || rsvd)
		ec |= PF_P;
	if (rsvd)
		ec |= PF_RSVD;
	if (kind == ACC_WRITE)
		ec |= PF_W;
	if (m->user)
		ec |= PF_U;
	/* SDM 4.7: I is reported for fetches when NX (PAE/4-level) or SMEP is in force */
	if (kind == ACC_EXEC &&
	    (((m->efer & RV_EFER_NXE) && (m->cr4 & RV_CR4_PAE)) || (m->cr4 & RV_CR4_SMEP)))
		ec |= PF_I;
	if (m->nested)
		svm_npf(cpu, ec | (m->gpt ? NPF_GPT : NPF_GPA), lin);
	cpu_raise_pf(cpu, lin, ec);
}

/* Set accessed/dirty bits with a host atomic OR: other vCPUs walk the same tables. */
static void pte_set(struct cpu *cpu, uint64_t pa, uint32_t bits)
{
	const struct cpu_mem_slot *s = cpu_memmap_find(cpu->mem, pa);

	if (s && s->kind == CPU_SLOT_RAM && pa + 4 <= s->gpa + s->size) {
		__atomic_fetch_or((uint32_t *)(void *)(s->host + (pa - s->gpa)), bits, __ATOMIC_SEQ_CST);
		cpu_note_store(cpu, pa, 4);	/* page tables that share a page with code */
	}
}

/*
 * Where a paging-structure entry at physical address a of this walk
 * lies: with nested paging, a guest table entry's guest-physical address
 * goes through the nested tables first (15.25.5); the guest walk may set
 * A/D bits there, so the nested access is a write (nested D set on the
 * table's page, read-only nested pages fault with RW).
 */
static uint64_t entry_addr(struct cpu *cpu, const struct pgmode *m, uint64_t a)
{
	struct walk nw;

	if (m->nested || !cpu->svm.np)
		return a;
	npt_walk(cpu, a, ACC_WRITE, true, &nw);
	return nw.pa | (a & 0xfff);
}

static void walk_tables(struct cpu *cpu, const struct pgmode *m, uint64_t lin, unsigned kind, struct walk *w)
{
	bool user = m->user;
	uint64_t cr4 = m->cr4;
	bool nxe = m->efer & RV_EFER_NXE;
	unsigned maxphy = cpu->maxphyaddr;
	uint64_t physmask = ((1ull << maxphy) - 1) & ~0xfffull;
	uint64_t rsvd_hi = ((1ull << 52) - 1) & ~((1ull << maxphy) - 1);
	uint64_t pte_addr[4], pte_val[4];
	unsigned npte = 0;
	uint64_t e = 0;

	w->rw = w->us = true;
	w->nx = false;
	w->large = false;
	w->shift = 12;

	if (!(cr4 & RV_CR4_PAE)) {
		/* 32-bit paging (SDM 4.3) */
		uint64_t a = entry_addr(cpu, m, (m->cr3 & 0xfffff000) + ((lin >> 22) & 0x3ff) * 4);

		e = cpu_phys_read(cpu, a, 4);
		if (!(e & PTE_P))
			walk_fault(cpu, m, lin, kind, false, false);
		pte_addr[npte] = a;
		pte_val[npte++] = e;
		w->rw &= !!(e & PTE_RW);
		w->us &= !!(e & PTE_US);
		if ((e & PTE_PS) && (cr4 & RV_CR4_PSE)) {
			/* 4 MiB page; PSE-36 puts PA bits 39:32 in bits 20:13, bit 21 is reserved */
			uint64_t hi = (e >> 13) & 0xff;
			uint64_t rsv = e & (1u << 21);

			if (maxphy < 40)
				rsv |= hi >> (maxphy > 32 ? maxphy - 32 : 0);
			if (rsv)
				walk_fault(cpu, m, lin, kind, true, true);
			w->pa = (e & 0xffc00000) | (hi << 32) | (lin & 0x3ff000);
			w->large = true;
			w->shift = 22;
		} else {
			a = entry_addr(cpu, m, (e & 0xfffff000) + ((lin >> 12) & 0x3ff) * 4);
			e = cpu_phys_read(cpu, a, 4);
			if (!(e & PTE_P))
				walk_fault(cpu, m, lin, kind, false, false);
			pte_addr[npte] = a;
			pte_val[npte++] = e;
			w->rw &= !!(e & PTE_RW);
			w->us &= !!(e & PTE_US);
			w->pa = e & 0xfffff000;
		}
	} else {
		uint64_t table;
		int level;

		if (m->efer & RV_EFER_LMA) {
			table = m->cr3 & physmask;
			level = 4;
		} else {
			/* PAE (SDM 4.4): the PDPTE has no rights and no accessed bit */
			uint64_t a = entry_addr(cpu, m, (m->cr3 & 0xffffffe0) + ((lin >> 30) & 3) * 8);

			e = cpu_phys_read(cpu, a, 8);
			if (!(e & PTE_P))
				walk_fault(cpu, m, lin, kind, false, false);
			if (e & (rsvd_hi | PTE_XD | 0x1e6))
				walk_fault(cpu, m, lin, kind, true, true);
			table = e & physmask;
			level = 2;
		}
		for (;; level--) {
			unsigned shift = 12 + 9 * (unsigned)(level - 1);
			uint64_t a = entry_addr(cpu, m, table + ((lin >> shift) & 511) * 8);
			uint64_t rsv = rsvd_hi | (nxe ? 0 : PTE_XD);
			bool leaf;

			e = cpu_phys_read(cpu, a, 8);
			if (!(e & PTE_P))
				walk_fault(cpu, m, lin, kind, false, false);
			leaf = level == 1 || ((level == 2 || level == 3) && (e & PTE_PS));
			if (level == 4)
				rsv |= PTE_PS;
			else if (leaf && level == 3)
				rsv |= 0x3fffe000;	/* 1 GiB page: bits 29:13 */
			else if (leaf && level == 2)
				rsv |= 0x1fe000;	/* 2 MiB page: bits 20:13 */
			if (e & rsv)
				walk_fault(cpu, m, lin, kind, true, true);
			pte_addr[npte] = a;
			pte_val[npte++] = e;
			w->rw &= !!(e & PTE_RW);
			w->us &= !!(e & PTE_US);
			if (nxe && (e & PTE_XD))
				w->nx = true;
			if (leaf) {
				uint64_t psize = 1ull << shift;

				w->pa = (e & physmask & ~(psize - 1)) | (lin & (psize - 1) & ~0xfffull);
				w->large = level > 1;
				w->shift = (uint8_t)shift;
				break;
			}
			table = e & physmask;
		}
	}

	/* Rights (SDM 4.6) */
	{
		bool ok;

		if (user)
			ok = w->us && (kind != ACC_WRITE || w->rw) && (kind != ACC_EXEC || !w->nx);
		else
			ok = (kind != ACC_WRITE || w->rw || !m->wp) &&
			     (kind != ACC_EXEC || (!w->nx && !((cr4 & RV_CR4_SMEP) && w->us)));
		if (!ok)
			walk_fault(cpu, m, lin, kind, true, false);
	}

	/* Accessed bits on every entry used, dirty on the leaf for writes */
	for (unsigned i = 0; i < npte; i++) {
		uint32_t bits = 0;

		if (!(pte_val[i] & PTE_A))
			bits |= PTE_A;
		if (i == npte - 1 && kind == ACC_WRITE && !(pte_val[i] & PTE_D))
			bits |= PTE_D;
		if (bits)
			pte_set(cpu, pte_addr[i], bits);
	}
	w->dirty = (e & PTE_D) || kind == ACC_WRITE;
	w->global = (e & PTE_G) && (cr4 & RV_CR4_PGE);
}

/*
 * A guest-physical address through the nested tables at nCR3 (APM 15.25):
 * the host's paging mode as VMRUN found it (CR4.PAE, CR4.PSE, EFER.LMA,
 * EFER.NXE), every access a user one (15.25.5). w->pa is the host-physical
 * page; w->rw, w->nx and w->dirty limit what the TLB may grant.
 */
static void npt_walk(struct cpu *cpu, uint64_t gpa, unsigned kind, bool gpt, struct walk *w)
{
	const struct cpu_svm_host *h = &cpu->svm.host;
	struct pgmode m = {
		.cr3 = cpu->svm.ncr3, .cr4 = h->cr4, .efer = h->efer,
		.wp = (h->cr0 & RV_CR0_WP) != 0, .user = true, .nested = true, .gpt = gpt,
	};

	walk_tables(cpu, &m, gpa, kind, w);
}

void tlb_note_used(struct cpu *cpu, unsigned priv, unsigned idx, bool global)
{
	unsigned k = priv * TLB_SIZE + idx;

	if ((cpu->tlb_inuse[global][k / 64] >> (k % 64)) & 1)
		return;
	cpu->tlb_inuse[global][k / 64] |= 1ull << (k % 64);
	cpu->tlb_used[global][cpu->tlb_nused[global]++] = (uint16_t)k;
}

void mmu_xlate_page(struct cpu *cpu, uint64_t lin, int acc, struct xlat *x)
{
	unsigned priv = tlb_priv(cpu, acc);
	uint64_t page = lin & ~0xfffull;
	unsigned idx = (lin >> 12) & TLB_MASK;
	struct tlb_entry *e = &cpu->tlb[priv][idx];
	uint64_t key = tlb_key(cpu, lin), none = tlb_tag_none(idx);
	const struct cpu_mem_slot *s;
	bool r, w, xok;
	struct walk wk;

	if (cpu->mem_generation != cpu->mem->generation) {
		cpu_tlb_flush_all(cpu);
		cpu->mem_generation = cpu->mem->generation;
	}
	if (cpu->tlb_back && tlb_ctx_take(cpu, priv, idx, lin, acc, x))
		return;
	if (!(cpu->s.cr0 & RV_CR0_PG)) {
		wk.pa = page;
		wk.rw = wk.us = true;
		wk.nx = wk.global = wk.large = false;
		wk.shift = 12;
		wk.dirty = true;
		r = w = xok = true;
	} else {
		struct pgmode m = {
			.cr3 = cpu->s.cr3, .cr4 = cpu->s.cr4, .efer = cpu->s.efer,
			.wp = (cpu->s.cr0 & RV_CR0_WP) != 0, .user = priv != 0,
		};

		walk_tables(cpu, &m, lin, (unsigned)acc & 3, &wk);
		if (priv) {
			r = wk.us;
			w = wk.us && wk.rw;
			xok = wk.us && !wk.nx;
		} else {
			r = true;
			w = wk.rw || !(cpu->s.cr0 & RV_CR0_WP);
			xok = !wk.nx && !((cpu->s.cr4 & RV_CR4_SMEP) && wk.us);
		}
	}
	if (__builtin_expect(cpu->svm.np, 0)) {
		/*
		 * Nested paging, guest paging on or off (15.25.3): the final
		 * guest-physical address through the nested tables. The entry
		 * caches the combined translation, with the rights and dirty
		 * state of both dimensions: a hit costs what it always does.
		 */
		struct walk nw;

		npt_walk(cpu, wk.pa | (lin & 0xfff), (unsigned)acc & 3, false, &nw);
		wk.pa = nw.pa;
		w = w && nw.rw;
		xok = xok && !nw.nx;
		wk.dirty = wk.dirty && nw.dirty;
	}

	s = cpu_memmap_find(cpu->mem, wk.pa);
	x->pa = wk.pa;
	x->flags = (wk.global ? TLBF_GLOBAL : 0) | (wk.large ? TLBF_LARGE : 0);
	x->addend = 0;
	if (s) {
		x->flags |= s->kind == CPU_SLOT_RAM ? TLBF_RAM : TLBF_ROM;
		x->addend = (uintptr_t)(s->host + (wk.pa - s->gpa)) - (uintptr_t)page;
	}
	cpu->tlbi[priv][(lin >> 12) & TLB_MASK] = (struct tlb_info){ .pa = x->pa, .va = page, .flags = x->flags,
								   .size_shift = wk.shift };
	tlb_note_used(cpu, priv, idx, wk.global);
	cpu->tlb_fills++;
	if (wk.large)
		cpu->tlb_large_shifts |= (uint8_t)(1u << (wk.shift - 21));
	e->host = x->addend + (uintptr_t)page;
	e->tag_read = (s && r) ? key : none;
	/*
	 * Pages holding decoded blocks or translated code keep stores on the
	 * slow path, which sees self-modifying code (block.c, cpu_code_page).
	 */
	e->tag_write = (s && s->kind == CPU_SLOT_RAM && w && wk.dirty && !codemap_test(cpu, wk.pa) &&
			!cpu_code_page(cpu, wk.pa)) ? key : none;
	e->tag_exec = (s && xok) ? key : none;
	tlb_fill_finish(cpu, e, lin, wk.pa, false);
}

void tlb_fill_finish(struct cpu *cpu, struct tlb_entry *e, uint64_t lin, uint64_t pa, bool fenced)
{
	uint64_t none = tlb_tag_none((lin >> 12) & TLB_MASK);

	if (__builtin_expect(cpu->s.dr7 & 0xff, 0)) {
		/* a data breakpoint watches this page: its accesses go through the slow path (debug.c) */
		unsigned watch = cpu_debug_watch_page(cpu, lin);

		if (watch & 1)
			e->tag_read = none;
		if (watch & 2)
			e->tag_write = none;
	}
	/*
	 * A translator on another thread may have made this page a code page
	 * between the fill's test and the store of the tag, and then missed
	 * this entry in its sweep (cpu_code_page_added): look again after a
	 * full fence, so that one of the two sides always sees the other.
	 */
	if (cpu->code_granules && e->tag_write != none) {
		if (!fenced)
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (cpu_code_page(cpu, pa))
			__atomic_store_n(&e->tag_write, none, __ATOMIC_RELAXED);
	}
}

uint64_t cpu_translate(struct cpu *cpu, uint64_t lin, int access)
{
	struct xlat x;

	mmu_xlate_page(cpu, lin, access, &x);
	return x.pa | (lin & 0xfff);
}

bool cpu_user_page(struct cpu *cpu, uint64_t lin, int access, struct cpu_user_page *p)
{
	jmp_buf probe;
	unsigned idx = (lin >> 12) & TLB_MASK;
	volatile bool ok = false;

	if (cpu->s.cpl != 3)
		return false;
	cpu->probe = &probe;
	if (setjmp(probe) == 0) {
		struct xlat x;
		const struct tlb_entry *e = &cpu->tlb[1][idx];
		uint64_t key = tlb_key(cpu, lin);

		mmu_xlate_page(cpu, lin, access, &x);
		p->pa = x.pa;
		p->host = (x.flags & TLBF_RAM) ? (uint8_t *)(uintptr_t)(x.addend + (lin & ~0xfffull)) : NULL;
		p->read = e->tag_read == key;
		p->write = e->tag_write == key;
		p->exec = e->tag_exec == key;
		p->large = (x.flags & TLBF_LARGE) != 0;
		ok = true;
	}
	cpu->probe = NULL;
	return ok;
}

static void tlb_entry_kill(struct cpu *cpu, unsigned priv, unsigned idx)
{
	struct tlb_entry *e = &cpu->tlb[priv][idx];

	e->tag_read = e->tag_write = e->tag_exec = tlb_tag_none(idx);
}

static struct tlb_info *used_info(struct cpu *cpu, unsigned k)
{
	return &cpu->tlbi[k / TLB_SIZE][k % TLB_SIZE];
}

/* Drop the entries list g names (an entry listed twice, refilled since, is dropped all the same). */
static void tlb_drop_list(struct cpu *cpu, unsigned g)
{
	for (unsigned u = 0; u < cpu->tlb_nused[g]; u++) {
		unsigned k = cpu->tlb_used[g][u];

		tlb_entry_kill(cpu, k / TLB_SIZE, k % TLB_SIZE);
		memset(used_info(cpu, k), 0, sizeof(struct tlb_info));
	}
	cpu->tlb_nused[g] = 0;
	memset(cpu->tlb_inuse[g], 0, sizeof(cpu->tlb_inuse[g]));
}

void cpu_tlb_flush(struct cpu *cpu)
{
	if (cpu->native)
		cpu->native->tlb_flush(cpu, CPU_NATIVE_FLUSH_ALL);
	if (cpu->tlb_back)
		tlb_ctx_back_flush(cpu, false);
	tlb_drop_list(cpu, 0);
	cpu->code_gen[0] = ++cpu->code_gen_clock;
}

void cpu_tlb_flush_all(struct cpu *cpu)
{
	if (cpu->native)
		cpu->native->tlb_flush(cpu, CPU_NATIVE_FLUSH_ALL);
	/* (at power-on every entry is zero: the lists name none, so kill them all once) */
	if (!cpu->tlb_nused[0] && !cpu->tlb_nused[1] && cpu->tlb[0][0].tag_exec != tlb_tag_none(0)) {
		for (unsigned p = 0; p < 2; p++)
			for (unsigned i = 0; i < TLB_SIZE; i++)
				tlb_entry_kill(cpu, p, i);
		memset(cpu->tlbi, 0, sizeof(cpu->tlbi));
	}
	if (cpu->tlb_back)
		tlb_ctx_back_flush(cpu, true);
	tlb_drop_list(cpu, 0);
	tlb_drop_list(cpu, 1);
	cpu->tlb_large_shifts = 0;
	cpu->code_gen[0] = ++cpu->code_gen_clock;
	cpu->code_gen[1] = ++cpu->code_gen_clock;
	memset(cpu->code_vpages, 0, sizeof(cpu->code_vpages));
}

void tlb_kill_page(struct tlb_entry (*tlb)[TLB_SIZE], const struct tlb_info (*tlbi)[TLB_SIZE], uint8_t large_shifts,
		   uint64_t lin)
{
	uint64_t page = lin & ~0xfffull;
	unsigned idx = (lin >> 12) & TLB_MASK;

	for (unsigned p = 0; p < 2; p++) {
		struct tlb_entry *e = &tlb[p][idx];

		if (e->tag_read == page || e->tag_write == page || e->tag_exec == page)
			e->tag_read = e->tag_write = e->tag_exec = tlb_tag_none(idx);
	}
	/*
	 * A large page is held as many 4 KiB entries: drop those of a large
	 * page around lin (SDM 4.10.4.1). Those of a 2 or 4 MiB page sit at
	 * the indexes of its pages; a 1 GiB one may be anywhere.
	 */
	for (unsigned shift = 21; shift <= 30; shift++) {
		uint64_t first, n;

		if (!((large_shifts >> (shift - 21)) & 1))
			continue;
		n = 1ull << (shift - 12);
		first = (lin >> shift << shift) >> 12;
		if (n > TLB_SIZE)
			n = TLB_SIZE;
		for (uint64_t v = 0; v < n; v++)
			for (unsigned p = 0; p < 2; p++) {
				unsigned i = (unsigned)((first + v) & TLB_MASK);
				const struct tlb_info *ti = &tlbi[p][i];

				if ((ti->flags & TLBF_LARGE) && ((ti->va ^ lin) >> ti->size_shift) == 0)
					tlb[p][i].tag_read = tlb[p][i].tag_write = tlb[p][i].tag_exec =
						tlb_tag_none(i);
			}
	}
}

void cpu_tlb_flush_page(struct cpu *cpu, uint64_t lin)
{
	if (cpu->native)
		cpu->native->tlb_flush(cpu, lin);
	tlb_kill_page(cpu->tlb, cpu->tlbi, cpu->tlb_large_shifts, lin);
	if (cpu->tlb_back)
		tlb_ctx_back_flush_page(cpu, lin);
	/* the translator's target cache may hold an address in this page (or in a large one around it) */
	if (code_vpage_test(cpu, lin, 0) || code_vpage_test(cpu, lin, 1) || code_vpage_test(cpu, lin, 2)) {
		cpu->code_gen[0] = ++cpu->code_gen_clock;
		cpu->code_gen[1] = ++cpu->code_gen_clock;
	}
}
