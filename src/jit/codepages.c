/*
 * Self- and cross-modifying code. Every guest-physical page holding
 * translated code has its 64-byte runs marked in the VM's granule array;
 * the TLB gives such pages no write fast path (paging.c), so a store to
 * one reaches the MMU's slow path, which calls jit_code_written(). A store
 * that overlaps translated bytes drops every translation of the page, in
 * this vCPU at once (the block that stored is left after the storing
 * instruction, SDM vol. 3, 11.6) and in the others through their queues
 * and an exit request, before their next block (they may finish the one
 * they are in: x86 leaves cross-modified code undefined until the
 * executing processor serializes, SDM vol. 3, 8.1.3). Device DMA and the
 * VMM report their writes with jit_vm_dirty().
 */
#include <string.h>

#include "jit/jit_priv.h"

/* The granules [pa, pa + len) covers, within its page. */
static uint64_t granule_mask(uint64_t pa, unsigned len)
{
	unsigned first = (unsigned)(pa & 0xfff) >> 6;
	unsigned last = (unsigned)((pa & 0xfff) + len - 1) >> 6;

	if (last > 63)
		last = 63;
	return (last == 63 ? ~0ull : (1ull << (last + 1)) - 1) & ~((1ull << first) - 1);
}

/*
 * Take away the write fast path of page pfn in every vCPU's TLB: another
 * vCPU may hold one. Its own fill looks at the granules again after a
 * fence (paging.c), so the entry is either swept here or never made.
 */
static void sweep_write_tags(struct jit_vm *vm, struct jit_vcpu *self, uint64_t pfn)
{
	for (unsigned v = 0; v < JIT_MAX_VCPUS; v++) {
		struct jit_vcpu *o = __atomic_load_n(&vm->vcpu[v], __ATOMIC_ACQUIRE);

		if (!o)
			continue;
		if (o == self) {
			/* this vCPU's own TLB: only the entries it filled */
			struct cpu *c = o->cpu;

			for (unsigned g = 0; g < 2; g++)
				for (unsigned u = 0; u < c->tlb_nused[g]; u++) {
					unsigned k = c->tlb_used[g][u], p = k / TLB_SIZE, i = k % TLB_SIZE;

					if (c->tlbi[p][i].pa >> 12 == pfn)
						c->tlb[p][i].tag_write = tlb_tag_none(i);
				}
			continue;
		}
		for (unsigned p = 0; p < 2; p++)
			for (unsigned i = 0; i < TLB_SIZE; i++)
				if (o->cpu->tlbi[p][i].pa >> 12 == pfn &&
				    __atomic_load_n(&o->cpu->tlb[p][i].tag_write, __ATOMIC_RELAXED) != tlb_tag_none(i))
					__atomic_store_n(&o->cpu->tlb[p][i].tag_write, tlb_tag_none(i), __ATOMIC_RELAXED);
	}
}

/* Mark [pa, pa + len) as translated: called before the bytes are read for the last time. */
void jit_mark_code(struct jit_vcpu *jv, uint64_t pa, unsigned len)
{
	struct jit_vm *vm = jv->vm;
	uint64_t pfn = pa >> 12, old;

	old = __atomic_fetch_or(&vm->granules[pfn], granule_mask(pa, len), __ATOMIC_SEQ_CST);
	if (!old)
		sweep_write_tags(vm, jv, pfn);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Make block b unreachable: invalid, out of the hash and the target cache, no jump chained into it. */
static void drop_block(struct jit_vcpu *jv, struct jit_block *b)
{
	b->valid = false;
	jv->st.invalidations++;
	/* whoever jumps straight into it goes back through its stub */
	for (struct jit_exit *x = b->incoming; x; x = x->in_next) {
		emit_patch_rel32(x->field, codebuf_delta(&jv->cb), x->stub);
		if (x->fast_field)
			emit_patch_rel32(x->fast_field, codebuf_delta(&jv->cb), x->fast_stub);
		x->to = NULL;
	}
	b->incoming = NULL;
	/* and it leaves the hash */
	for (struct jit_block **hp = &jv->hash[jit_hash(b->vaddr, b->pa, b->key)]; *hp; hp = &(*hp)->hnext)
		if (*hp == b) {
			*hp = b->hnext;
			break;
		}
	jit_jc_forget(jv, b->vaddr);
}

/*
 * Drop the blocks of one page list (by first page, or by second: pa2 and
 * pnext2) that lie in page pfn; unlink the invalid ones met on the way
 * (a block in both lists stays in the other once dropped through one).
 */
static void drop_listed(struct jit_vcpu *jv, struct jit_block **pp, uint64_t pfn, bool second)
{
	while (*pp) {
		struct jit_block *b = *pp;
		struct jit_block **next = second ? &b->pnext2 : &b->pnext;

		if ((second ? b->pa2 : b->pa) >> 12 != pfn && b->valid) {
			pp = next;
			continue;
		}
		*pp = *next;
		if (b->valid)
			drop_block(jv, b);
	}
}

/* Drop this vCPU's translations of page pfn: the blocks that start in it, and those that run on into it. */
void jit_invalidate_page(struct jit_vcpu *jv, uint64_t pfn)
{
	unsigned h = pfn & ((1u << JIT_PAGE_BITS) - 1);

	drop_listed(jv, &jv->pages[h], pfn, false);
	drop_listed(jv, &jv->pages2[h], pfn, true);
	if (jv->cur && (jv->cur->pa >> 12 == pfn || jv->cur->pa2 >> 12 == pfn))
		jv->stop = true;
}

/* Queue page pfn (or everything, pfn = ~0) for vCPU o, and make it look soon. */
static void post(struct jit_vcpu *o, uint64_t pfn)
{
	pthread_mutex_lock(&o->queue_lock);
	if (pfn == ~0ull || o->nqueued == JIT_QUEUE_MAX)
		o->queue_overflow = true;
	else
		o->queue[o->nqueued++] = pfn;
	__atomic_store_n(&o->queue_pending, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&o->queue_lock);
	cpu_request_exit(o->cpu);
}

/* Page pfn's translated code was overwritten: every vCPU but `self` drops it before its next block. */
static void post_all(struct jit_vm *vm, struct jit_vcpu *self, uint64_t pfn)
{
	for (unsigned v = 0; v < JIT_MAX_VCPUS; v++) {
		struct jit_vcpu *o = __atomic_load_n(&vm->vcpu[v], __ATOMIC_ACQUIRE);

		if (o && o != self)
			post(o, pfn);
	}
}

/* A store overlapping translated bytes of a page: clear its granules and drop its translations everywhere. */
static bool page_written(struct jit_vm *vm, struct jit_vcpu *self, uint64_t pa, uint64_t len)
{
	uint64_t pfn = pa >> 12;

	if (pfn >= vm->npages)
		return false;
	if (!(__atomic_load_n(&vm->granules[pfn], __ATOMIC_ACQUIRE) & granule_mask(pa, (unsigned)len)))
		return false;
	__atomic_store_n(&vm->granules[pfn], 0, __ATOMIC_SEQ_CST);
	post_all(vm, self, pfn);
	return true;
}

void jit_code_written(struct cpu *cpu, uint64_t pa, unsigned len)
{
	struct jit_vcpu *jv = cpu->xlat_ctx;

	/* the bytes are in guest memory now; see them before the granules */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (page_written(jv->vm, jv, pa, len))
		jit_invalidate_page(jv, pa >> 12);
}

void jit_vm_dirty(struct jit_vm *vm, uint64_t gpa, uint64_t len)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	while (len) {
		uint64_t n = 4096 - (gpa & 0xfff);

		if (n > len)
			n = len;
		page_written(vm, NULL, gpa, n);
		gpa += n;
		len -= n;
	}
}

void jit_process_queue(struct jit_vcpu *jv)
{
	uint64_t pages[JIT_QUEUE_MAX];
	unsigned n;
	bool all;

	pthread_mutex_lock(&jv->queue_lock);
	n = jv->nqueued;
	all = jv->queue_overflow;
	memcpy(pages, jv->queue, n * sizeof(pages[0]));
	jv->nqueued = 0;
	jv->queue_overflow = false;
	__atomic_store_n(&jv->queue_pending, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&jv->queue_lock);
	if (all) {
		jit_flush(jv);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		jit_invalidate_page(jv, pages[i]);
}
