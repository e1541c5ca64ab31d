/*
 * The dispatcher: finds (or translates) the block for the current RIP,
 * enters it, and acts on how it came back: chains a direct exit to its
 * target, fills the indirect-branch target cache, or returns to the run
 * loop (cpu_run) for events, exits to the VMM and instructions that may
 * change the mode or interrupt state. Also the life cycle of the per-VM
 * and per-vCPU translator state.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/svm.h"
#include "jit/jit_priv.h"
#include "ringvm/ringvm.h"

/* ------------------------------------------------------------------ */
/* The metadata arena.                                                 */

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	_Alignas(16) uint8_t data[];
};

#define ARENA_CHUNK (1u << 20)

void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (!a->head || a->used + size > a->cap) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		struct arena_chunk *c = malloc(sizeof(*c) + cap);

		if (!c)
			return NULL;
		c->next = a->head;
		c->size = cap;
		a->head = c;
		a->used = 0;
		a->cap = cap;
	}
	a->used += size;
	return a->head->data + a->used - size;
}

static void arena_reset(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *n = a->head->next;

		free(a->head);
		a->head = n;
	}
	a->used = a->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Life cycle.                                                         */

static void jc_clear(struct jit_vcpu *jv);

static const struct cpu_xlat jit_xlat = {
	.run = jit_run,
	.code_written = jit_code_written,
};

/*
 * The granule array covers a fixed 64 GiB of guest-physical space, mapped
 * once (untouched pages of it cost nothing), so that vCPUs read it without
 * locks; code above that runs in the interpreter.
 */
#define JIT_GRANULE_PAGES (1ull << (36 - 12))

int jit_vm_create(struct jit_vm **out, size_t cache_bytes)
{
	struct jit_vm *vm = calloc(1, sizeof(*vm));
	void *g;

	if (!vm)
		return -ENOMEM;
	vm->granule_bytes = JIT_GRANULE_PAGES * sizeof(uint64_t);
	g = mmap(NULL, vm->granule_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (g == MAP_FAILED) {
		free(vm);
		return -ENOMEM;
	}
	vm->granules = g;
	vm->npages = JIT_GRANULE_PAGES;
	pthread_mutex_init(&vm->lock, NULL);
	vm->cache_bytes = cache_bytes ? cache_bytes : JIT_DEFAULT_CACHE;
	*out = vm;
	return 0;
}

void jit_vm_destroy(struct jit_vm *vm)
{
	if (!vm)
		return;
	munmap(vm->granules, vm->granule_bytes);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

void jit_vm_remapped(struct jit_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	for (unsigned v = 0; v < JIT_MAX_VCPUS; v++) {
		struct jit_vcpu *o = vm->vcpu[v];

		if (!o)
			continue;
		pthread_mutex_lock(&o->queue_lock);
		o->queue_overflow = true;
		__atomic_store_n(&o->queue_pending, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&o->queue_lock);
		cpu_request_exit(o->cpu);
	}
	pthread_mutex_unlock(&vm->lock);
}

static bool host_has_bmi2(void)
{
	unsigned a, b, c, d;

	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 8));
}

int jit_vcpu_create(struct jit_vm *vm, struct cpu *cpu, struct jit_vcpu **out)
{
	struct jit_vcpu *jv = calloc(1, sizeof(*jv));
	unsigned slot;
	int err;

	if (!jv)
		return -ENOMEM;
	jv->vm = vm;
	jv->cpu = cpu;
	jv->ctx = jit_alloc_low(sizeof(*jv->ctx));
	pthread_mutex_init(&jv->queue_lock, NULL);
	jv->has_bmi2 = host_has_bmi2();
	jv->cb.fd = -1;
	if (!jv->ctx || (uintptr_t)cpu + sizeof(*cpu) > 0x80000000u) {
		err = -ENOMEM;
		goto fail;
	}
	jc_clear(jv);
	for (unsigned n = 0; n <= JIT_MAX_INSNS; n++)
		jv->ctx->counts[n][0] = n;
	err = codebuf_init(&jv->cb, vm->cache_bytes);
	if (err)
		goto fail;
	if (jit_emit_routines(jv) < 0) {
		err = -ENOMEM;
		goto fail;
	}
	pthread_mutex_lock(&vm->lock);
	for (slot = 0; slot < JIT_MAX_VCPUS && vm->vcpu[slot]; slot++)
		;
	if (slot == JIT_MAX_VCPUS) {
		pthread_mutex_unlock(&vm->lock);
		err = -ENOSPC;
		goto fail;
	}
	cpu->code_granules = vm->granules;
	cpu->code_npages = vm->npages;
	cpu->xlat_ctx = jv;
	cpu->xlat = &jit_xlat;
	__atomic_store_n(&vm->vcpu[slot], jv, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->lock);
	jv->st.cache_bytes = vm->cache_bytes;
	*out = jv;
	return 0;
fail:
	codebuf_fini(&jv->cb);
	jit_free_low(jv->ctx, sizeof(*jv->ctx));
	pthread_mutex_destroy(&jv->queue_lock);
	free(jv);
	return err;
}

void jit_vcpu_destroy(struct jit_vcpu *jv)
{
	struct jit_vm *vm;

	if (!jv)
		return;
	vm = jv->vm;
	pthread_mutex_lock(&vm->lock);
	for (unsigned v = 0; v < JIT_MAX_VCPUS; v++)
		if (vm->vcpu[v] == jv)
			vm->vcpu[v] = NULL;
	pthread_mutex_unlock(&vm->lock);
	jv->cpu->xlat = NULL;
	jv->cpu->xlat_ctx = NULL;
	jv->cpu->code_granules = NULL;
	jit_translator_free(jv);
	arena_reset(&jv->arena);
	codebuf_fini(&jv->cb);
	jit_free_low(jv->ctx, sizeof(*jv->ctx));
	pthread_mutex_destroy(&jv->queue_lock);
	free(jv);
}

/* Drop every translation; the common routines at the start of the buffer stay. */
void jit_flush(struct jit_vcpu *jv)
{
	jv->full = false;
	arena_reset(&jv->arena);
	memset(jv->hash, 0, sizeof(jv->hash));
	memset(jv->pages, 0, sizeof(jv->pages));
	memset(jv->pages2, 0, sizeof(jv->pages2));
	jv->code_used = (size_t)(jv->rt.start - (uintptr_t)jv->cb.rx);
	jv->rw_released = jv->code_used;
	jv->cur = NULL;
	jc_clear(jv);
	jv->st.flushes++;
}

void jit_vcpu_flush(struct jit_vcpu *jv)
{
	jit_flush(jv);
}

void jit_vcpu_stats(const struct jit_vcpu *jv, struct jit_stats *st)
{
	*st = jv->st;
	st->code_bytes = jv->code_used - (size_t)(jv->rt.start - (uintptr_t)jv->cb.rx);
}

/* ------------------------------------------------------------------ */
/* Dispatching.                                                        */

/* RINGVM_JIT_TRACE=1: every block entry and return on stderr (debugging the translator). */
bool jit_trace(void)
{
	static int on = -1;

	if (on < 0) {
		const char *e = getenv("RINGVM_JIT_TRACE");

		on = e && *e == '1';
	}
	return on;
}

/* The key of the current state, or false if the interpreter must run it. */
static bool current_key(const struct cpu *cpu, uint32_t *key)
{
	const struct cpu_state *s = &cpu->s;
	uint32_t k;

	if (cpu->mode == MODE_LONG64) {
		k = KEY_64;
	} else if ((cpu->mode == MODE_PROT || cpu->mode == MODE_COMPAT) && cpu->code_size == 4 &&
		   cpu->stack_size == 4 && s->seg[RV_CS].base == 0 && s->seg[RV_CS].limit == 0xffffffff) {
		k = (uint32_t)cpu->flat_rd << 8 | (uint32_t)cpu->flat_wr << 16;
	} else {
		return false;
	}
	if (s->cpl == 3) {
		k |= KEY_CPL3;
		if ((s->cr0 & RV_CR0_AM) && (s->rflags & RV_FLAG_AC))
			k |= KEY_AC;
	}
	*key = k;
	return true;
}

/*
 * After a system instruction: may the dispatcher go on, or must the run
 * loop look (an exit, a trap to deliver, single-stepping: the conditions
 * under which cpu_run() runs blocks at all; user code native execution
 * wants)?
 */
static bool may_go_on(const struct cpu *cpu)
{
	return cpu->exit.reason == CPU_EXIT_NONE && !cpu->dbg_trap && !cpu->shadow &&
	       !((cpu->s.dr7 | cpu->dbg_seen[4]) & 0xff) && !(cpu->s.rflags & (RV_FLAG_TF | RV_FLAG_RF)) &&
	       !cpu->replay.count && !(cpu->intercepts & RV_INTERCEPT_SINGLESTEP) && !cpu->native_want;
}

/* pa2: the next page's physical address as the instruction TLB has it now, or JIT_NO_PA2 */
static struct jit_block *hash_find(struct jit_vcpu *jv, uint64_t vaddr, uint64_t pa, uint64_t pa2, uint32_t key)
{
	for (struct jit_block *b = jv->hash[jit_hash(vaddr, pa, key)]; b; b = b->hnext)
		if (b->vaddr == vaddr && b->pa == pa && b->key == key && (b->pa2 == JIT_NO_PA2 || b->pa2 == pa2))
			return b;
	return NULL;
}

/*
 * The physical page of the code page at lin, through the instruction TLB,
 * and its host address in *host; JIT_NO_PA2 if it is not executable RAM
 * (a non-canonical address, a hole or MMIO, no rights). With `walk`, a
 * miss walks the page tables as a fetch does (and may raise #PF); without,
 * a miss is JIT_NO_PA2. The page after a block's is never walked: a block
 * runs into it only once a fetch from it has succeeded (the
 * interpreter's, of the instruction that crosses), so that a fault there
 * is raised by the instruction that meets it, after those before it.
 */
static uint64_t code_page(struct jit_vcpu *jv, uint64_t lin, bool walk, const uint8_t **host)
{
	struct cpu *cpu = jv->cpu;
	unsigned priv = cpu->s.cpl == 3, idx = (lin >> 12) & TLB_MASK;
	const struct tlb_entry *e = &cpu->tlb[priv][idx];
	uint64_t pa;

	if (cpu->mode == MODE_LONG64 ? !canonical(lin) : lin > 0xffffffffu)
		return JIT_NO_PA2;
	if (e->tag_exec != tlb_key(cpu, lin) && walk) {
		struct xlat x;

		mmu_xlate_page(cpu, lin, ACC_EXEC, &x);
	}
	if (e->tag_exec != tlb_key(cpu, lin))
		return JIT_NO_PA2;
	pa = cpu->tlbi[priv][idx].pa;
	if (pa >> 12 >= jv->vm->npages)
		return JIT_NO_PA2;
	*host = (const uint8_t *)tlb_host(e, lin & ~0xfffull);
	return pa;
}

/*
 * The block for the current RIP: through the instruction TLB, then the
 * hash, then the translator. NULL when the interpreter must run the
 * instruction (a non-canonical RIP, code in MMIO or a hole, an
 * instruction that crosses into a page not yet in the TLB, a full cache
 * twice).
 */
static struct jit_block *lookup(struct jit_vcpu *jv, uint32_t key)
{
	uint64_t lin = jv->cpu->s.rip, pa, pa2;
	unsigned off = (unsigned)(lin & 0xfff);
	const uint8_t *host, *host2 = NULL;
	struct jit_block *b;

	pa = code_page(jv, lin, true, &host);
	if (pa == JIT_NO_PA2)
		return NULL;
	pa |= off;
	host += off;
	pa2 = code_page(jv, (lin | 0xfff) + 1, false, &host2);
	b = hash_find(jv, lin, pa, pa2, key);
	if (b)
		return b;
	b = jit_translate(jv, lin, pa, key, host, 4096 - off, pa2, host2);
	if (!b && jv->full) {
		/* out of room: start afresh, once */
		jit_flush(jv);
		b = jit_translate(jv, lin, pa, key, host, 4096 - off, pa2, host2);
	}
	return b;
}

/*
 * Patch exit x of a valid block to jump straight to block `to` (same key):
 * to its entry within the same virtual page, else to its checked entry.
 */
static void chain(struct jit_vcpu *jv, struct jit_exit *x, struct jit_block *to)
{
	bool same_page = (x->from->vaddr ^ to->vaddr) >> 12 == 0;

	if (!same_page && !to->checked) {
		to->checked = jit_checked_entry(jv, to);
		if (!to->checked)
			return;	/* no room: the next translation flushes */
	}
	emit_patch_rel32(x->field, codebuf_delta(&jv->cb), same_page ? to->code : to->checked);
	if (x->fast_field && same_page && to->flags_dead && to->pa2 == JIT_NO_PA2 && to->vaddr > x->from->vaddr)
		emit_patch_rel32(x->fast_field, codebuf_delta(&jv->cb), to->body);
	x->to = to;
	x->in_next = to->incoming;
	to->incoming = x;
	jv->st.chained++;
}

/* The block was found through the instruction TLB: remember it for indirect branches to vaddr. */
static void jc_fill(struct jit_vcpu *jv, uint64_t vaddr, const struct jit_block *b)
{
	struct cpu *cpu = jv->cpu;
	unsigned priv = cpu->s.cpl == 3;
	struct jc_entry *c = &jv->ctx->jc[priv][jc_index(vaddr)];
	uint32_t flags = cpu->tlbi[priv][(vaddr >> 12) & TLB_MASK].flags;
	bool global = flags & TLBF_GLOBAL;

	/* a large page's size is not kept: mark both the 2 MiB and the 1 GiB region */
	for (unsigned level = flags & TLBF_LARGE ? 1 : 0; level < (flags & TLBF_LARGE ? 3u : 1u); level++) {
		unsigned vb = code_vpage_bit(vaddr, level);

		cpu->code_vpages[vb / 64] |= 1ull << (vb % 64);
	}
	c->vaddr = vaddr;
	c->code = (uint32_t)b->code;
	c->genp = (uint64_t)(uintptr_t)&cpu->code_gen[global];
	c->gen = cpu->code_gen[global];
}

void jit_jc_forget(struct jit_vcpu *jv, uint64_t vaddr)
{
	for (unsigned p = 0; p < 2; p++) {
		struct jc_entry *c = &jv->ctx->jc[p][jc_index(vaddr)];

		if (c->vaddr == vaddr)
			c->vaddr = JC_EMPTY;
	}
}

static void jc_clear(struct jit_vcpu *jv)
{
	for (unsigned p = 0; p < 2; p++)
		for (unsigned i = 0; i < (1u << JC_BITS); i++)
			jv->ctx->jc[p][i].vaddr = JC_EMPTY;
}

/*
 * Without a budget, blocks chain into each other and the dispatcher sees
 * only unchained exits. With one (tests, the fuzzer), every block returns
 * here: the exit request is kept set, so that any block entered by a jump
 * leaves at its entry check, and the dispatcher enters each block past
 * that check; a block that would pass the budget is the interpreter's,
 * which stops exactly.
 */
int jit_run(struct cpu *cpu, uint64_t end)
{
	struct jit_vcpu *jv = cpu->xlat_ctx;
	void (*enter)(uintptr_t) = (void (*)(uintptr_t))jv->rt.enter;
	struct jit_exit *from = NULL;
	bool budget = end != UINT64_MAX;
	uint32_t key;
	bool ran = false;

	if (!current_key(cpu, &key)) {
		if (jit_trace())
			fprintf(stderr, "jit: state not translatable at %#llx (mode %u)\n",
				(unsigned long long)cpu->s.rip, cpu->mode);
		jv->st.declined++;
		return CPU_XLAT_DECLINED;
	}
	/* another memory map: other memory behind the same addresses */
	if (cpu->mem->generation != jv->mem_gen) {
		if (jv->mem_gen)
			jit_flush(jv);
		jv->mem_gen = cpu->mem->generation;
	}
	/* a key change other than the privilege: the target cache's entries are for another mode */
	if ((key ^ jv->last_key) & ~KEY_CPL3)
		jc_clear(jv);
	jv->last_key = key;
	if (jit_trace())
		fprintf(stderr, "jit: run at %#llx key %#x rsp %#llx\n", (unsigned long long)cpu->s.rip, key, (unsigned long long)cpu->s.gpr[4]);
	jv->to_loop = false;
	jv->cur = NULL;
	cpu_set_flags_lahf(cpu);
	for (;;) {
		struct jit_block *b;
		uint64_t last, flushes;

		__atomic_store_n(&cpu->exit_req, budget, __ATOMIC_SEQ_CST);
		if (cpu_loop_needed(cpu)) {
			if (jit_trace())
				fprintf(stderr, "jit: to the run loop for an event at %#llx\n",
					(unsigned long long)cpu->s.rip);
			break;
		}
		if (__atomic_load_n(&jv->queue_pending, __ATOMIC_ACQUIRE)) {
			jit_process_queue(jv);
			from = NULL;
		}
		flushes = jv->st.flushes;
		b = lookup(jv, key);
		if (jv->st.flushes != flushes)
			from = NULL;	/* it pointed into the dropped metadata */
		if (!b && jit_trace())
			fprintf(stderr, "jit: no block for %#llx: the interpreter runs it\n",
				(unsigned long long)cpu->s.rip);
		if (!b) {
			if (!ran) {
				jv->st.declined++;
				return CPU_XLAT_DECLINED;
			}
			break;
		}
		if (budget) {
			if (end - cpu->icount < b->ninsn || cpu->icount >= end) {
				if (!ran) {
					jv->st.declined++;
					return CPU_XLAT_DECLINED;
				}
				break;
			}
		} else if (from) {
			if (from->from->valid && from->field && !from->to)
				chain(jv, from, b);
		} else {
			jc_fill(jv, b->vaddr, b);
		}
		ran = true;
		jv->ctx->last_exit = 0;
		if (jit_trace())
			fprintf(stderr, "jit: enter %#llx (block %#llx, %u insns) icount %llu\n",
				(unsigned long long)cpu->s.rip, (unsigned long long)b->vaddr, b->ninsn,
				(unsigned long long)cpu->icount);
		enter(budget ? b->body : b->code);
		last = jv->ctx->last_exit;
		if (jit_trace())
			fprintf(stderr, "jit: back: last_exit %#llx rip %#llx to_loop %d exit %d\n",
				(unsigned long long)last, (unsigned long long)cpu->s.rip, jv->to_loop,
				cpu->exit.reason);
		if (jv->to_loop) {
			/*
			 * After an instruction that may change mode, CPL, segments,
			 * flags or debug state: the run loop's own business when it
			 * must single-step, deliver a trap or exit; else go on here
			 * under the key of the new state.
			 */
			jv->to_loop = false;
			if (!may_go_on(cpu))
				break;
			cpu_update_flat(cpu);
			if (!current_key(cpu, &key))
				break;
			if ((key ^ jv->last_key) & ~KEY_CPL3)
				jc_clear(jv);
			jv->last_key = key;
			cpu_set_flags_lahf(cpu);
			from = NULL;
			continue;
		}
		if (last == JIT_EXIT_JC_MISS || last == JIT_EXIT_JC_STALE) {
			jv->st.indirect_misses++;
			jv->st.indirect_stale += last == JIT_EXIT_JC_STALE;
			from = NULL;
			continue;
		}
		if (!last) {
			/* after a branch the interpreter ran */
			jv->st.interp_branches++;
			from = NULL;
			continue;
		}
		from = (struct jit_exit *)(uintptr_t)last;
		cpu->s.rip = from->target;
		jv->st.unchained_exits++;
		if (from->kind != JX_DIRECT)
			from = NULL;
	}
	return CPU_XLAT_RAN;
}
